"""How party ids find Fineract savings accounts, what a lookup answers, the connector's
settings, and the error mapping table."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fineract_tests.conftest import environ, open_account
from fineract_tests.fake import Fineract, error_body

from pm4ml.config import Settings
from pm4ml.connectors import (
    Blocked,
    ConnectorContext,
    IncomingTransfer,
    InsufficientFunds,
    Money,
    PartyId,
    PartyNotFound,
    Rejected,
    Unavailable,
    UnknownTransfer,
    load,
)
from pm4ml_fineract import FineractConnector, FineractSettings, error_for


async def test_msisdn_finds_the_client_by_mobile_number(
    fineract: Fineract, connector: FineractConnector
) -> None:
    party = PartyId("MSISDN", "255711111111")
    open_account(fineract, party, "USD", Decimal(1))
    found = await connector.lookup_party(party)
    assert found.id == party
    assert (found.first_name, found.last_name) == ("Ada", found.last_name)
    assert found.display_name == f"Ada {found.last_name}"
    assert found.supported_currencies == ("USD",)


async def test_account_id_finds_the_account_by_number_or_external_id(
    fineract: Fineract, connector: FineractConnector
) -> None:
    savings = open_account(fineract, PartyId("ACCOUNT_ID", "ext-42"), "TZS", Decimal(1))
    by_external = await connector.lookup_party(PartyId("ACCOUNT_ID", "ext-42"))
    by_number = await connector.lookup_party(PartyId("ACCOUNT_ID", savings.account_no))
    assert by_external.supported_currencies == by_number.supported_currencies == ("TZS",)
    with pytest.raises(PartyNotFound):  # a client's number is no savings account's
        await connector.lookup_party(PartyId("ACCOUNT_ID", f"{savings.client_id:09d}"))


async def test_other_id_types_find_the_client_by_external_id(
    fineract: Fineract, connector: FineractConnector
) -> None:
    party = PartyId("PERSONAL_ID", "NIN-7")
    open_account(fineract, party, "USD", Decimal(1))
    assert (await connector.lookup_party(party)).id == party
    with pytest.raises(PartyNotFound):  # the search also matches names: compared exactly
        await connector.lookup_party(PartyId("MSISDN", "NIN-7"))


async def test_a_client_with_accounts_in_two_currencies_is_paid_in_either(
    fineract: Fineract, connector: FineractConnector
) -> None:
    party = PartyId("MSISDN", "255722222222")
    usd = open_account(fineract, party, "USD", Decimal(0))
    eur = fineract.open_savings(fineract.clients[usd.client_id], "EUR", Decimal(0))
    assert (await connector.lookup_party(party)).supported_currencies == ("EUR", "USD")
    transfer = IncomingTransfer(
        transfer_id="t-eur",
        quote_id=None,
        transaction_id=None,
        payee=party,
        payer=PartyId("MSISDN", "1"),
        payer_fsp="payerfsp",
        amount=Money(Decimal("4.5"), "EUR"),
    )
    await connector.prepare_transfer(transfer)
    await connector.commit_transfer("t-eur")
    assert (usd.balance, eur.balance) == (Decimal(0), Decimal("4.5"))


async def test_a_blocked_account_is_skipped_for_an_open_one(
    fineract: Fineract, connector: FineractConnector
) -> None:
    party = PartyId("MSISDN", "255733333333")
    blocked = open_account(fineract, party, "USD", Decimal(0), block=True)
    fineract.open_savings(fineract.clients[blocked.client_id], "USD", Decimal(0))
    assert (await connector.lookup_party(party)).supported_currencies == ("USD",)


# --- settings -------------------------------------------------------------------------


def test_the_entry_point_is_the_connector() -> None:
    assert load("fineract") is FineractConnector


def test_settings_come_from_the_environment_pm4ml_hands_over(fineract: Fineract) -> None:
    values = environ(
        fineract, TLS_VERIFY="false", MAX_TRANSFER_AMOUNT="1000.50", PASSWORD="s3cret-Pw"
    )
    settings = FineractSettings.from_environ(values | {"PM4ML_OTHER": "ignored"})
    assert settings.base_url == fineract.url
    assert settings.tls_verify is False
    assert settings.max_transfer_amount == Decimal("1000.50")
    assert settings.password.get_secret_value() == "s3cret-Pw"
    assert "s3cret-Pw" not in repr(settings)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"BASE_URL": "ftp://fineract"}, "PM4ML_FINERACT_BASE_URL"),
        ({"TENANT_TIMEZONE": "Mars/Olympus"}, "PM4ML_FINERACT_TENANT_TIMEZONE"),
        ({"TIMEOUT_SECONDS": "0"}, "PM4ML_FINERACT_TIMEOUT_SECONDS"),
        ({"COLOUR": "blue"}, "PM4ML_FINERACT_COLOUR"),
    ],
)
def test_wrong_settings_name_the_variable(
    fineract: Fineract, overrides: dict[str, str], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        FineractSettings.from_environ(environ(fineract, **overrides))


def test_missing_settings_refuse_to_create_the_connector() -> None:
    context = ConnectorContext(settings=Settings(), environ={})
    with pytest.raises(ValueError, match="PM4ML_FINERACT_BASE_URL") as caught:
        FineractConnector.create(context)
    assert "PM4ML_FINERACT_PASSWORD" in str(caught.value)


async def test_without_pm4ml_engine_the_connector_opens_its_own(
    fineract: Fineract, database_url: str
) -> None:
    settings = Settings(database_url=database_url)
    connector = FineractConnector.create(ConnectorContext(settings, None, environ(fineract)))
    await connector.start()
    try:
        await connector.check()
    finally:
        await connector.close()


# --- error mapping --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (
            403,
            "error.msg.savingsaccount.transaction.insufficient.account.balance",
            InsufficientFunds,
        ),
        (
            403,
            "error.msg.savingsaccount.transaction.insufficient.account.balance.withdraw",
            InsufficientFunds,
        ),
        (403, "error.msg.saving.account.blocked.transaction.not.allowed", Blocked),
        (403, "error.msg.savings.account.credit.transaction.not.allowed", Blocked),
        (403, "error.msg.savingsaccount.transaction.account.is.not.active", Blocked),
        (403, "error.msg.some.other.rule", Rejected),
        (400, "validation.msg.savingsaccount.transaction.transactionAmount.invalid", Rejected),
        (404, "error.msg.saving.account.id.invalid", UnknownTransfer),
        (401, "error.msg.not.authenticated", Unavailable),
        (500, "error.msg.platform.server.side", Unavailable),
    ],
)
def test_fineract_errors_map_to_connector_errors(status: int, code: str, expected: type) -> None:
    error = error_for(status, error_body(status, code, "Refused."), not_found=UnknownTransfer)
    assert type(error) is expected
    if not isinstance(error, Unavailable):
        assert error.message == "Refused."


def test_a_bodiless_refusal_maps_by_status() -> None:
    assert type(error_for(404, None, not_found=PartyNotFound)) is PartyNotFound
    assert type(error_for(400, "<html>", not_found=PartyNotFound)) is Rejected
    assert type(error_for(502, None, not_found=PartyNotFound)) is Unavailable
