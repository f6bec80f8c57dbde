"""The connector interface: the public names are pinned, and every connector error maps to
an FSPIOP code in both roles."""

from __future__ import annotations

import pytest

import pm4ml.connectors as connectors
from pm4ml.connectors import ConnectorError, Rejected, Role, to_fspiop_error
from pm4ml.connectors._errors import CODES
from pm4ml.fspiop.errors import ErrorCode, FspiopError


def test_exported_members_are_pinned() -> None:
    assert set(connectors.__all__) == {
        "ENTRY_POINT_GROUP", "AmountType", "Blocked", "Connector", "ConnectorContext",
        "ConnectorError", "ConnectorInfo", "IncomingTransfer", "InsufficientFunds",
        "LimitExceeded", "Money", "OutgoingTransfer", "Party", "PartyId", "PartyNotFound",
        "PermissionDenied", "QuoteRequest", "QuoteTerms", "Rejected", "Role",
        "TransactionRequest", "TransactionRequestDecision", "TransactionRequestState",
        "TransactionType", "TransferNotification", "TransferOutcome", "Unavailable",
        "UnknownTransfer", "UnsupportedCurrency", "available", "load", "to_fspiop_error",
        "send_to_cbs", "trace_headers",
    }  # fmt: skip
    for name in connectors.__all__:
        assert hasattr(connectors, name)


def _all_error_classes() -> list[type[ConnectorError]]:
    found: list[type[ConnectorError]] = [ConnectorError]
    for klass in found:
        found.extend(klass.__subclasses__())
    return found


@pytest.mark.parametrize("klass", _all_error_classes(), ids=lambda k: k.__name__)
@pytest.mark.parametrize("role", list(Role))
def test_every_error_maps_in_both_roles(klass: type[ConnectorError], role: Role) -> None:
    assert klass in CODES
    error = to_fspiop_error(klass("why"), role)
    assert isinstance(error, FspiopError)
    assert error.description == "why"
    if klass not in (ConnectorError,) and error.code.code[0] in "45":
        assert error.code.code[0] == ("4" if role is Role.PAYER else "5")


def test_explicit_code_wins() -> None:
    error = to_fspiop_error(Rejected("no", code=ErrorCode.PAYEE_REJECTED_QUOTE), Role.PAYEE)
    assert error.code_text == "5101"


def test_foreign_exception_is_internal_error() -> None:
    error = to_fspiop_error(KeyError("secret detail"), Role.PAYEE)
    assert error.code is ErrorCode.INTERNAL_SERVER_ERROR
    assert "secret" not in error.description


async def test_request_to_pay_hooks_default_to_documented_behaviour() -> None:
    from pm4ml.connectors import Connector, TransactionRequestState

    hooks = Connector.__dict__
    assert not getattr(hooks["one_time_password"], "__isabstractmethod__", False)
    for name in ("decide_transaction_request", "one_time_password", "notify_transaction_request"):
        assert hooks[name].__doc__

    class Bare(Connector):
        lookup_party = quote = prepare_transfer = commit_transfer = abort_transfer = None  # type: ignore[assignment]
        reserve_funds = commit_funds = release_funds = None  # type: ignore[assignment]

    bare = Bare()
    with pytest.raises(ConnectorError) as caught:
        await bare.one_time_password("r-1")
    assert to_fspiop_error(caught.value, Role.PAYER).code_text == "2002"
    await bare.notify_transaction_request("r-1", TransactionRequestState.REJECTED)
