"""A small OpenID Connect provider for the portal's tests, served by uvicorn on loopback.

It follows OpenID Connect Core 1.0 and Discovery 1.0 for the authorization code flow with
PKCE (RFC 7636): a discovery document, a JWKS with one RSA key, ``/authorize`` that checks the
client, redirect URI and code challenge and sends the browser back with a one-time code (and
the state), and ``/token`` that authenticates the client (``client_secret_basic``), checks
the code, redirect URI and code verifier, and answers with an RS256-signed ID token. There is
no login form: ``user`` is who the provider vouches for next. ``claims_override``,
``signing_key`` and ``issuer_override`` make it misbehave the ways a test needs.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "pm4ml-portal"
CLIENT_SECRET = "provider-client-secret-value"


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class Grant:
    claims: dict[str, Any]
    redirect_uri: str
    challenge: str
    nonce: str | None


@dataclass
class Provider:
    url: str = ""
    redirect_uri: str = ""
    user: dict[str, Any] = field(default_factory=dict)
    key: RSAKey = field(default_factory=lambda: new_key("key-1"))
    #: Signs ID tokens instead of ``key`` (whose public half stays in the JWKS).
    signing_key: RSAKey | None = None
    claims_override: dict[str, Any] = field(default_factory=dict)
    issuer_override: str | None = None
    codes: dict[str, Grant] = field(default_factory=dict)
    token_requests: int = 0

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
            ]
        )

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer_override or self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        params = request.query_params
        # A wrong client or redirect URI is answered here, never by a redirect (Core 3.1.2.6).
        if params.get("client_id") != CLIENT_ID:
            return Response("unknown client", status_code=400)
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri != self.redirect_uri:
            return Response("redirect_uri not registered", status_code=400)
        state = params.get("state", "")
        problem = None
        if params.get("response_type") != "code":
            problem = "unsupported_response_type"
        elif "openid" not in params.get("scope", "").split():
            problem = "invalid_scope"
        elif params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            problem = "invalid_request"
        if problem:
            query = urlencode({"error": problem, "state": state})
            return RedirectResponse(f"{redirect_uri}?{query}", status_code=302)
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(
            dict(self.user), redirect_uri, params["code_challenge"], params.get("nonce")
        )
        query = urlencode({"code": code, "state": state})
        return RedirectResponse(f"{redirect_uri}?{query}", status_code=302)

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = await request.form()
        grant = self.codes.pop(str(form.get("code", "")), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if form.get("redirect_uri") != grant.redirect_uri or challenge != grant.challenge:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            **grant.claims,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        claims.update(self.claims_override)
        key = self.signing_key or self.key
        header = {"alg": "RS256", "kid": self.key.kid}
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": jwt.encode(header, claims, key),
            },
            headers={"cache-control": "no-store"},
        )
