"""The ``fineract`` connector's own settings: ``PM4ML_FINERACT_*`` variables.

pm4ml's ``Settings`` forbids names it does not know, so the connector reads its variables
itself, from the environment pm4ml hands it (``ConnectorContext.environ``), never from
``os.environ`` directly: a test or an embedding application passes exactly what it means.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PREFIX = "PM4ML_FINERACT_"


class FineractSettings(BaseSettings):
    """Where Fineract is and how to talk to it. Field names map to ``PM4ML_FINERACT_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="forbid", frozen=True)

    base_url: str = Field(
        description="Fineract's API root, e.g. https://fineract:8443/fineract-provider/api/v1."
    )
    tenant_id: str = Field(
        "default", min_length=1, description="Sent as the Fineract-Platform-TenantId header."
    )
    username: str = Field(min_length=1, description="API user (HTTP basic authentication).")
    password: SecretStr = Field(description="The API user's password.")
    timeout_seconds: float = Field(10.0, gt=0, le=300, description="Longest wait for a request.")
    retries: int = Field(
        3, ge=0, le=10, description="Retries of a request whose connection could not be made."
    )
    retry_max_seconds: float = Field(
        2.0, gt=0, le=60, description="Cap of the doubling backoff between those retries."
    )
    tls_verify: bool = Field(True, description="Verify Fineract's TLS certificate.")
    tls_ca_file: Path | None = Field(
        None, description="CA bundle that signs Fineract's certificate (default: system CAs)."
    )
    payment_type_id: int = Field(
        1,
        ge=1,
        description="Fineract payment type of pm4ml's deposits and withdrawals; their payment "
        "detail's receiptNumber carries the transfer id.",
    )
    max_transfer_amount: Decimal | None = Field(
        None,
        gt=0,
        description="Largest single transfer this DFSP accepts (LimitExceeded above); none if "
        "unset.",
    )

    tenant_timezone: str = Field(
        "UTC",
        description="The tenant's time zone (IANA name): transactions are dated today there.",
    )

    @field_validator("tenant_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        url = httpx.URL(value)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"not an http(s) URL: {value!r}")
        return value.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only what from_environ passes: the process environment is pm4ml's to hand over.
        return (init_settings,)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> FineractSettings:
        """The settings in ``environ``'s ``PM4ML_FINERACT_*`` variables; ``ValueError`` naming
        the variables that are missing or wrong."""
        values = {
            name[len(PREFIX) :].lower(): value
            for name, value in environ.items()
            if name.startswith(PREFIX)
        }
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{PREFIX}{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
                for error in exc.errors()
            )
            raise ValueError(f"the fineract connector's settings are wrong: {problems}") from None
