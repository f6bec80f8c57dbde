"""Seed files: the accounts a demo or a test environment starts with, in YAML or JSON.

::

    accounts:
      - id_type: MSISDN
        id_value: "27713803912"
        currency: USD
        display_name: Alice Example
        first_name: Alice
        last_name: Example
        date_of_birth: 1990-04-01
        balance: "1000.00"
        max_single_transfer: "500"

Only ``id_type``, ``id_value`` and ``currency`` are required. Loading is idempotent: an account
that already exists is left as it is, so running a seed twice never doubles a balance.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pm4ml_ledger.schema import SETTLEMENT
from pm4ml_ledger.units import to_units

SEED_ACCOUNTS_MAX = 100_000


class SeedError(ValueError):
    """The seed file cannot be read or is not valid; the message names the entry."""


class SeedAccount(BaseModel):
    """One account of a seed file."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    id_type: str = Field(min_length=1, max_length=32)
    id_value: str = Field(min_length=1, max_length=128)
    sub_id: str | None = Field(None, max_length=128)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    display_name: str | None = Field(None, max_length=128)
    first_name: str | None = Field(None, max_length=128)
    middle_name: str | None = Field(None, max_length=128)
    last_name: str | None = Field(None, max_length=128)
    date_of_birth: date | None = None
    balance: Decimal = Field(Decimal(0), ge=0)
    max_single_transfer: Decimal | None = Field(None, gt=0)
    status: Literal["OPEN", "BLOCKED"] = "OPEN"

    @field_validator("balance", "max_single_transfer", mode="before")
    @classmethod
    def _exact(cls, value: Any) -> Any:
        # YAML reads 10.10 as a float; its shortest repr is the decimal the author wrote.
        if isinstance(value, bool):
            raise ValueError("an amount is a number or a decimal string")
        return repr(value) if isinstance(value, float) else value

    @field_validator("balance", "max_single_transfer")
    @classmethod
    def _four_decimals(cls, value: Decimal | None) -> Decimal | None:
        if value is not None:
            to_units(value)
        return value

    @field_validator("id_type")
    @classmethod
    def _not_settlement(cls, value: str) -> str:
        if value == SETTLEMENT:
            raise ValueError(f"{SETTLEMENT} is reserved for the ledger's settlement accounts")
        return value


class SeedFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accounts: list[SeedAccount] = Field(max_length=SEED_ACCOUNTS_MAX)


def parse_seed(text: str, *, json_format: bool = False) -> list[SeedAccount]:
    """The accounts in a seed document (YAML unless ``json_format``). Raises ``SeedError``."""
    try:
        data = json.loads(text) if json_format else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if json_format else "YAML"
        raise SeedError(f"seed file is not valid {kind}: {exc}") from None
    if isinstance(data, list):
        data = {"accounts": data}
    try:
        return SeedFile.model_validate(data).accounts
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise SeedError(f"invalid seed file: {problems}") from None


def read_seed(path: Path) -> list[SeedAccount]:
    """The accounts in the seed file at ``path`` (``.json`` is JSON, anything else YAML)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc.strerror}") from None
    return parse_seed(text, json_format=path.suffix.lower() == ".json")
