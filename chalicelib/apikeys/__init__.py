"""Admin API keys: issued once in clear, stored only as a (peppered) hash, checked by the API's
authorizer (chalicelib/api/auth.py) and managed with `python -m ops keys`.

Other rooms use the names below, nothing else.
"""
from chalicelib.platform.exports import exports

__getattr__, __all__ = exports(__name__, {
    "keys": ("clear_cache", "create_key", "ensure_key", "hash_form", "list_keys", "principal_for", "revoke_key"),
    "repository": ("ApiKey",),
})
