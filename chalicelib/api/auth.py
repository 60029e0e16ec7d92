"""The admin API's authorizer: `Authorization: Bearer <api key>` (apikeys/keys.py checks the key).

Chalice enforces only its built-in authorizer in `chalice local` and the test client, so that is
what every /v1/ route names (a test walks the route table). The blueprint is registered under
app.py's name, which re-exports `api_key`, so the authorizer's Lambda handler stays `app.api_key`.
"""
from __future__ import annotations

from chalice import AuthResponse, Blueprint

import chalicelib.apikeys as apikeys

blueprint = Blueprint("app")


@blueprint.authorizer()
def api_key(auth_request):
    principal = apikeys.principal_for(auth_request.token)
    if principal is None:
        return AuthResponse(routes=[], principal_id="anonymous")
    return AuthResponse(routes=["*"], principal_id=principal)
