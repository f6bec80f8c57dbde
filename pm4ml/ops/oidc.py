"""Sign-in with an OpenID Connect provider: the authorization code flow with PKCE, by authlib.

The provider is found by discovery (``<issuer>/.well-known/openid-configuration``), and the
document must name the configured issuer. The ID token's signature is checked against the
provider's JWKS (fetched again when a token names an unknown key, so key rotation works), and
its issuer, audience (this client), expiry and nonce are checked. The state must be the one
this browser was sent away with. The user's role comes from a claim of the ID token; a user
without ``viewer``, ``operator`` or ``admin`` there is refused, never given a default role.

The state, nonce and PKCE verifier of a sign-in in progress are kept in a cookie of their own,
signed and short-lived, with ``SameSite=Lax``: the provider's redirect back is a cross-site
navigation, on which the session cookie (``SameSite=Strict``) is not sent.
"""

from __future__ import annotations

import hmac
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc.errors import JoseError

from pm4ml.config import Settings
from pm4ml.ops.schema import ROLES

with warnings.catch_warnings():
    # authlib prefers the httpx2 package and warns when it falls back to httpx, the HTTP
    # client pm4ml uses everywhere (and whose errors are caught below); the fallback works.
    # Its own "always" filter is installed on import, so the "ignore" must come after it.
    import authlib.deprecate  # noqa: F401

    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.starlette_client import OAuth

PENDING_COOKIE = "pm4ml_ops_oidc"
PENDING_SECONDS = 600
#: Clock difference tolerated between the provider and us when checking exp and iat.
LEEWAY_SECONDS = 60
HTTP_TIMEOUT_SECONDS = 10.0


class OidcError(Exception):
    """A sign-in with the provider failed. ``str()`` is for the person signing in and the
    audit log; ``who`` is the user the provider named, when it got that far."""

    def __init__(self, message: str, who: str | None = None) -> None:
        super().__init__(message)
        self.who = who


@dataclass(frozen=True)
class Identity:
    """A user the provider vouched for: ``issuer`` and ``subject`` identify them, ``name`` is
    how pages show them, ``role`` the highest portal role among their roles claim."""

    issuer: str
    subject: str
    name: str
    role: str


def roles_in(claims: Mapping[str, Any], path: str) -> list[str]:
    """The values of the roles claim at dotted ``path`` (a list, or one string of names
    separated by spaces or commas); empty when it is missing or of another type."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return []
        value = value.get(part)
    if isinstance(value, str):
        return value.replace(",", " ").split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def portal_role(roles: list[str]) -> str | None:
    """The highest of viewer, operator and admin among ``roles`` (case ignored), or None."""
    known = {role.lower() for role in roles} & set(ROLES)
    return max(known, key=ROLES.index) if known else None


class OidcProvider:
    """One configured provider. Its discovery document and JWKS are fetched on first use
    (a provider that is down then does not stop the portal from starting)."""

    def __init__(self, settings: Settings, secret: str) -> None:
        assert settings.ops_oidc_issuer is not None and settings.ops_oidc_client_id is not None
        self.issuer = settings.ops_oidc_issuer.rstrip("/")
        self.client_id = settings.ops_oidc_client_id
        self.name = settings.ops_oidc_provider_name or urlsplit(self.issuer).hostname or "OIDC"
        self.roles_claim = settings.ops_oidc_roles_claim
        self.redirect_uri = settings.ops_oidc_redirect_uri
        secret_value = settings.ops_oidc_client_secret
        self._client: Any = OAuth().register(
            name="pm4ml_ops",
            client_id=self.client_id,
            client_secret=secret_value.get_secret_value() if secret_value else None,
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": settings.ops_oidc_scopes,
                "code_challenge_method": "S256",
                "timeout": HTTP_TIMEOUT_SECONDS,
            },
        )
        self._pending = URLSafeTimedSerializer(secret, salt="pm4ml-ops-oidc-pending")

    async def _discover(self) -> str:
        """The issuer exactly as the provider spells it (its tokens' ``iss``)."""
        try:
            metadata = await self._client.load_server_metadata()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"the identity provider cannot be reached: {exc}"[:200]) from exc
        issuer = str(metadata.get("issuer", ""))
        if issuer.rstrip("/") != self.issuer:
            # A document naming another issuer could make us accept that issuer's tokens.
            raise OidcError(f"the discovery document names issuer {issuer!r}, not ours")
        return issuer

    async def begin(self, redirect_uri: str) -> tuple[str, str]:
        """Where to send the browser, and the value of the pending-sign-in cookie."""
        await self._discover()
        started = await self._client.create_authorization_url(redirect_uri)
        pending = {
            "state": started["state"],
            "nonce": started["nonce"],
            "verifier": started["code_verifier"],
            "redirect_uri": redirect_uri,
        }
        return str(started["url"]), self._pending.dumps(pending)

    async def finish(self, cookie: str | None, params: Mapping[str, str]) -> Identity:
        """Check the provider's answer (the callback's query parameters) against the pending
        sign-in, redeem the code and check the ID token. Raises :class:`OidcError`."""
        if cookie is None:
            raise OidcError("no sign-in was started from this browser")
        try:
            pending = self._pending.loads(cookie, max_age=PENDING_SECONDS)
        except BadSignature as exc:
            raise OidcError("the sign-in took too long or was not started here") from exc
        if error := params.get("error"):
            detail = f"{error} {params.get('error_description', '')}".strip()
            raise OidcError(f"the identity provider refused: {detail}"[:200])
        state, code = params.get("state", ""), params.get("code", "")
        if not hmac.compare_digest(state.encode(), str(pending["state"]).encode()):
            raise OidcError("the state does not match this browser's sign-in")
        if not code:
            raise OidcError("the identity provider sent no authorization code")
        issuer = await self._discover()
        try:
            token = await self._client.fetch_access_token(
                redirect_uri=pending["redirect_uri"], code=code, code_verifier=pending["verifier"]
            )
        except (OAuthError, httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"the code was not redeemed: {exc}"[:200]) from exc
        if "id_token" not in token:
            raise OidcError("the identity provider sent no ID token")
        claims_options = {
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": self.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
        }
        try:
            claims = await self._client.parse_id_token(
                token, nonce=pending["nonce"], claims_options=claims_options, leeway=LEEWAY_SECONDS
            )
        except (JoseError, httpx.HTTPError, ValueError, RuntimeError) as exc:
            raise OidcError(f"the ID token was refused: {type(exc).__name__} {exc}"[:200]) from exc
        subject = str(claims["sub"])
        name = str(claims.get("preferred_username") or claims.get("email") or subject)
        role = portal_role(roles_in(claims, self.roles_claim))
        if role is None:
            raise OidcError(
                f"no viewer, operator or admin role in the {self.roles_claim!r} claim", who=name
            )
        return Identity(self.issuer, subject, name, role)
