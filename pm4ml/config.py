"""Settings: one typed, grouped table, read from ``PM4ML_*`` environment variables and an
optional YAML file (``PM4ML_CONFIG_FILE`` or ``pm4ml --config FILE``). Environment variables win
over the file. Every field has a description and a row in the README configuration table (a
test checks this). Secrets are ``SecretStr`` so they never show in a ``repr`` or a log.

Nothing here reads the environment at import time: :func:`load_settings` builds a ``Settings``
and the composition root passes it down explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

FSP_ID_PATTERN = r"^[A-Za-z0-9_\-.]{1,32}$"


class ConfigError(Exception):
    """The configuration cannot work; the message says which setting and why."""


class Settings(BaseSettings):
    """Every pm4ml setting. Field names map to ``PM4ML_<NAME>`` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="PM4ML_",
        extra="forbid",
        validate_default=True,
        frozen=True,
    )

    # --- identity and peers -------------------------------------------------------------
    dfsp_id: str = Field(
        "pm4ml",
        pattern=FSP_ID_PATTERN,
        description="This DFSP's FSP id, sent as FSPIOP-Source.",
    )
    peer_endpoint: str = Field(
        "http://127.0.0.1:3000",
        description="Base URL of the hub (or peer DFSP) that receives every FSPIOP request.",
    )
    fspiop_version: Literal["1.0", "1.1", "2.0"] = Field(
        "1.1",
        description="FSPIOP version of the requests pm4ml sends (inbound takes 1.0, 1.1, 2.0).",
    )

    # --- servers ------------------------------------------------------------------------
    inbound_host: str = Field("127.0.0.1", description="Inbound FSPIOP server listen address.")
    inbound_port: int = Field(4000, ge=0, le=65535, description="Inbound FSPIOP server port.")
    outbound_host: str = Field("127.0.0.1", description="Outbound simplified API listen address.")
    outbound_port: int = Field(4001, ge=0, le=65535, description="Outbound simplified API port.")
    ops_host: str = Field("127.0.0.1", description="Operations portal listen address.")
    ops_port: int = Field(4002, ge=0, le=65535, description="Operations portal port.")
    ops_session_secret: SecretStr | None = Field(
        None,
        description="Key signing the portal's session cookies. Default: generated once and "
        "kept (mode 0600) as ops-session.key in data_dir.",
    )
    ops_idle_timeout_seconds: int = Field(
        900, ge=60, description="Portal sessions end after this long without a request."
    )
    ops_secure_cookies: bool = Field(
        False, description="Mark portal cookies Secure (turn on when served behind TLS)."
    )
    ops_oidc_issuer: str | None = Field(
        None,
        description="OpenID Connect issuer URL; set it to offer sign-in with that provider "
        "(discovered at <issuer>/.well-known/openid-configuration).",
    )
    ops_oidc_client_id: str | None = Field(
        None, description="The portal's client id at the OpenID Connect provider."
    )
    ops_oidc_client_secret: SecretStr | None = Field(
        None, description="The portal's client secret at the OpenID Connect provider."
    )
    ops_oidc_roles_claim: str = Field(
        "roles",
        description="ID token claim listing the user's roles (a dotted path such as "
        "realm_access.roles reaches into objects); viewer, operator or admin must be among "
        "them, else sign-in is refused.",
    )
    ops_oidc_scopes: str = Field(
        "openid profile email", description="Scopes the portal asks the provider for."
    )
    ops_oidc_provider_name: str | None = Field(
        None,
        description='Name on the "Sign in with ..." button. Default: the issuer\'s host name.',
    )
    ops_oidc_redirect_uri: str | None = Field(
        None,
        description="Redirect URI registered at the provider. Default: /oidc/callback on the "
        "address the browser used to reach the portal.",
    )
    metrics_host: str = Field("127.0.0.1", description="Metrics and health server listen address.")
    metrics_port: int = Field(
        9464,
        ge=0,
        le=65535,
        description="Metrics and health server port: /metrics, /health/live, /health/ready.",
    )
    request_body_bytes_max: int = Field(
        5_242_880, ge=1024, description="Largest request body accepted (FSPIOP allows 5 MiB)."
    )

    # --- storage ------------------------------------------------------------------------
    data_dir: Path = Field(
        Path("data"), description="Directory for the embedded SQLite database and local files."
    )
    database_url: SecretStr | None = Field(
        None,
        description=(
            "SQLAlchemy async URL, e.g. postgresql+asyncpg://user@host/db. "
            "Default: SQLite file pm4ml.db in data_dir."
        ),
    )
    database_migrate_on_start: bool = Field(
        True, description="Run the database migrations when a server starts."
    )

    # --- JWS ------------------------------------------------------------------------------
    jws_sign: bool = Field(True, description="Sign outgoing POST/PUT/PATCH requests (JWS).")
    jws_sign_put_parties: bool = Field(
        True, description="Also sign PUT /parties callbacks (scheme policy)."
    )
    jws_require_put_parties: bool = Field(
        True,
        description=(
            "Refuse unsigned inbound PUT /parties callbacks (strict). A signature that is "
            "present is always verified."
        ),
    )
    jws_signing_key_path: Path | None = Field(
        None, description="PEM private key (RSA or EC P-256) used to sign requests."
    )
    jws_verification_keys_dir: Path | None = Field(
        None, description="Directory of peers' public keys, one <fspId>.pem per peer."
    )
    jws_publish_dir: Path | None = Field(
        None,
        description="`certs jws rotate` writes <dfspId>.pem here (every public key peers must "
        "accept) for the hub or peers to fetch.",
    )
    jws_rotation_overlap_seconds: float = Field(
        86400,
        ge=0,
        description="`certs jws rotate`: how long a new key is published before it signs.",
    )
    jws_rotation_grace_seconds: float = Field(
        86400,
        ge=0,
        description="`certs jws rotate`: how long the old key stays valid after the switch.",
    )

    # --- mutual TLS -------------------------------------------------------------------
    tls_server_cert_path: Path | None = Field(
        None, description="Inbound server certificate (PEM, chain); set all three for mTLS."
    )
    tls_server_key_path: Path | None = Field(None, description="Inbound server private key.")
    tls_server_ca_path: Path | None = Field(
        None, description="CA bundle that inbound client certificates must chain to."
    )
    tls_client_cert_path: Path | None = Field(
        None, description="Client certificate presented to the hub; set all three for mTLS."
    )
    tls_client_key_path: Path | None = Field(None, description="Client private key.")
    tls_client_ca_path: Path | None = Field(
        None, description="CA bundle the hub's server certificate must chain to."
    )
    cert_subject_cn: str | None = Field(
        None, description="`certs csr`: the subject CN when --cn is not given."
    )
    cert_subject_org: str | None = Field(
        None, description="`certs csr`: the subject O when --org is not given."
    )
    cert_sans: str | None = Field(
        None,
        description="`certs csr`: comma-separated SANs (DNS names or IPs) when no --san is given.",
    )
    cert_expiry_warn_days: float = Field(
        30,
        gt=0,
        description="Warn (log, metric) when a configured certificate expires within this many "
        "days; readiness fails once one has expired.",
    )

    # --- ILP ------------------------------------------------------------------------------
    ilp_secret: SecretStr | None = Field(
        None, description="Secret for ILP fulfilments (payee side); required to serve."
    )
    ilp_version: int = Field(
        1, description="ILP packet version: 1 (IlpPayment, FSPIOP 1.x) or 4 (IlpPrepare)."
    )

    # --- flows and time -------------------------------------------------------------------
    expiry_seconds: int = Field(
        60, ge=1, le=86_400, description="Validity of quotes and transfers pm4ml creates."
    )
    callback_wait_seconds_max: float = Field(
        30.0, gt=0, le=600, description="Longest wait for a peer's callback."
    )
    request_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="Timeout of one outgoing HTTP request."
    )
    auto_accept_party: bool = Field(
        True, description="Outbound: continue to the quote without waiting for acceptParty."
    )
    auto_accept_quotes: bool = Field(
        True, description="Outbound: continue to the transfer without waiting for acceptQuote."
    )
    auto_accept_r2p_party: bool = Field(
        True,
        description="Request to pay, payee: send the request without waiting for acceptParty.",
    )
    auto_accept_otp: bool = Field(
        True,
        description=(
            "Request to pay, payer: check the payee DFSP's OTP with the connector instead of"
            " waiting for acceptOTP."
        ),
    )
    otp_attempts_max: int = Field(
        3, ge=1, le=10, description="Request to pay, payer: OTP tries before it is rejected."
    )
    reserve_notification: bool = Field(
        False,
        description="Payee: answer RESERVED and wait for PATCH /transfers before committing.",
    )
    sweeper_interval_seconds: float = Field(
        5.0, gt=0, le=3600, description="How often expired reservations are looked for."
    )

    # --- core banking -------------------------------------------------------------------
    connector: str = Field(
        "ledger", min_length=1, description="Name of the core-banking connector to use."
    )
    connector_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="Longest wait for one core-banking connector call."
    )
    ledger_seed_file: Path | None = Field(
        None, description="YAML/JSON file of ledger accounts opened at start-up."
    )
    backend_endpoint: str | None = Field(
        None, description="`http` connector: base URL of the core connector's Backend API."
    )
    backend_timeout_seconds: float = Field(
        5.0, gt=0, le=300, description="`http` connector: longest wait for one backend request."
    )
    backend_retries: int = Field(
        3, ge=0, le=10, description="`http` connector: retries of a refused connection."
    )
    backend_retry_max_seconds: float = Field(
        2.0, gt=0, le=60, description="`http` connector: cap of the doubling retry backoff."
    )
    backend_bearer_token: SecretStr | None = Field(
        None, description="`http` connector: bearer token sent to the backend."
    )
    backend_tls_cert_file: Path | None = Field(
        None, description="`http` connector: client certificate (PEM) for mTLS to the backend."
    )
    backend_tls_key_file: Path | None = Field(
        None, description="`http` connector: private key (PEM) of that certificate."
    )
    backend_tls_ca_file: Path | None = Field(
        None, description="`http` connector: CA bundle that signs the backend's certificate."
    )

    # --- operations ---------------------------------------------------------------------
    bus_url: str | None = Field(
        None, description="Callback bus: unset for in-process, redis://host:port/db for Redis."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level."
    )
    log_format: Literal["auto", "json", "text"] = Field(
        "auto",
        description="Log lines as JSON objects (json), human-readable text (text), or text "
        "when stderr is a terminal and JSON otherwise (auto).",
    )
    health_probe_interval_seconds: float = Field(
        15.0,
        gt=0,
        description="How often the readiness checks run in the background to refresh the "
        "health gauges (pm4ml_database_up, pm4ml_bus_up, pm4ml_transfers_in_flight, ...).",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP collector base URL (spans go to <url>/v1/traces). Unset: the "
        "standard OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT are used; "
        "none set: no spans, no OpenTelemetry loaded.",
    )
    otel_service_name: str | None = Field(
        None,
        description="service.name of the spans. Unset: OTEL_SERVICE_NAME, else pm4ml.",
    )

    @field_validator("ilp_version")
    @classmethod
    def _ilp_version(cls, value: int) -> int:
        if value not in (1, 4):
            raise ValueError("must be 1 or 4")
        return value

    @field_validator("peer_endpoint")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        issuer = self.ops_oidc_issuer
        if issuer is None:
            return self
        if not issuer.startswith(("http://", "https://")):
            raise ValueError("PM4ML_OPS_OIDC_ISSUER must be an http:// or https:// URL")
        if not self.ops_oidc_client_id:
            raise ValueError("PM4ML_OPS_OIDC_ISSUER is set but PM4ML_OPS_OIDC_CLIENT_ID is not")
        if "openid" not in self.ops_oidc_scopes.split():
            raise ValueError("PM4ML_OPS_OIDC_SCOPES must include openid")
        return self

    @field_validator("otel_exporter_otlp_endpoint")
    @classmethod
    def _otlp_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL (OTLP over HTTP)")
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.data_dir / 'pm4ml.db'}"

    def check_serving(self) -> None:
        """Fail fast, with a message naming the setting, when the servers cannot work."""
        problems: list[str] = []
        if self.ilp_secret is None or not self.ilp_secret.get_secret_value():
            problems.append("PM4ML_ILP_SECRET is required to issue quotes and fulfilments")
        if self.jws_sign:
            if self.jws_signing_key_path is None:
                problems.append("PM4ML_JWS_SIGN is on but PM4ML_JWS_SIGNING_KEY_PATH is not set")
            elif not self.jws_signing_key_path.is_file():
                problems.append(
                    f"PM4ML_JWS_SIGNING_KEY_PATH: no such file {self.jws_signing_key_path}"
                )
        keys_dir = self.jws_verification_keys_dir
        if keys_dir is None:
            problems.append(
                "PM4ML_JWS_VERIFICATION_KEYS_DIR is required: inbound signatures are always "
                "verified"
            )
        elif not keys_dir.is_dir():
            problems.append(f"PM4ML_JWS_VERIFICATION_KEYS_DIR: no such directory {keys_dir}")
        if problems:
            raise ConfigError("; ".join(problems))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = settings_cls.model_config.get("yaml_file") or os.environ.get(
            "PM4ML_CONFIG_FILE"
        )
        if config_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from the environment, an optional YAML file and explicit overrides
    (highest precedence). Raises :class:`ConfigError` with a readable message."""
    settings_cls: type[Settings] = Settings
    env_file = os.environ.get("PM4ML_CONFIG_FILE")
    config_file = config_file or (Path(env_file) if env_file else None)
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"configuration file not found: {config_file}")
        config = SettingsConfigDict(**{**Settings.model_config, "yaml_file": config_file})
        settings_cls = type("Settings", (Settings,), {"model_config": config})
    try:
        return settings_cls(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "settings"
            lines.append(f"PM4ML_{name.upper()}: {error['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(lines)) from None


def redacted(settings: Settings) -> dict[str, Any]:
    """The effective settings with every secret replaced by ``**********``."""
    shown: dict[str, Any] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = "**********"
        elif isinstance(value, Path):
            value = str(value)
        shown[name] = value
    return shown
