"""The admin API's authorizer: `Authorization: Bearer <api key>` (apikeys/keys.py checks the key).

Chalice enforces only its built-in authorizer in `chalice local` and the test client, so that is
what every /v1/ route names (a test walks the route table). The blueprint is registered under
app.py's name, which re-exports `bearer_key`, so the authorizer's Lambda handler is `app.bearer_key`
(function closeloop-<stage>-bearer_key).

Never name it `api_key`: chalice's swagger takes a security definition of that name for its own
`api_key_required` and writes API Gateway's usage-plan key (x-api-key) in its place, so API
Gateway would never call this function and every /v1/ call would get 403.
"""
from __future__ import annotations

from chalice import AuthResponse, Blueprint

import chalicelib.apikeys as apikeys

blueprint = Blueprint("app")

# API Gateway caches each token's answer this long (its default is 300 s), then this Lambda its own
# lookup for `api_key_cache_seconds` (30): a revoked key stops working within
# apikeys.keys.REVOCATION_DELAY_SECONDS (60), as docs/api.md says.
GATEWAY_CACHE_SECONDS = 30


@blueprint.authorizer(ttl_seconds=GATEWAY_CACHE_SECONDS)
def bearer_key(auth_request):
    principal = apikeys.principal_for(auth_request.token)
    if principal is None:
        return AuthResponse(routes=[], principal_id="anonymous")
    return AuthResponse(routes=["*"], principal_id=principal)
