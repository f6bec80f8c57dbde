"""Transfer states and the one table of legal moves between them.

One transfer is one row with one state. A payee transfer (``Direction.INBOUND``: a customer of
this DFSP is paid) and a payer transfer (``Direction.OUTBOUND``: a customer pays) use the states
below; each state's comment lists its exits. The portal, the outbound API and the store all use
these names. Final states have no exits.
"""

from __future__ import annotations

import enum


class Direction(enum.StrEnum):
    INBOUND = "INBOUND"  # we are the payee
    OUTBOUND = "OUTBOUND"  # we are the payer


class TransferState(enum.StrEnum):
    # --- payer (OUTBOUND) ----------------------------------------------------------------
    PARTY_LOOKUP_SENT = "PARTY_LOOKUP_SENT"  # -> PARTY_RECEIVED, FAILED
    PARTY_RECEIVED = "PARTY_RECEIVED"  # -> QUOTE_REQUESTED, FAILED (acceptParty false/expiry)
    QUOTE_REQUESTED = "QUOTE_REQUESTED"  # -> QUOTE_RECEIVED, FAILED
    QUOTE_RECEIVED = "QUOTE_RECEIVED"  # -> FUNDS_RESERVED, FAILED (acceptQuote false/refused)
    FUNDS_RESERVED = "FUNDS_RESERVED"  # -> TRANSFER_SENT, ABORTED (sending impossible)
    TRANSFER_SENT = "TRANSFER_SENT"  # -> COMMITTED, ABORTED (outcome from hub or expiry)
    # --- payee (INBOUND) -----------------------------------------------------------------
    RECEIVED = "RECEIVED"  # stored, CBS asked to reserve -> RESERVED, COMMITTED, ABORTED
    RESERVED = "RESERVED"  # CBS reserved, fulfilment sent as RESERVED, waiting for PATCH
    #                        -> COMMITTED, ABORTED
    # --- both ----------------------------------------------------------------------------
    COMMITTED = "COMMITTED"  # final: the money moved
    ABORTED = "ABORTED"  # final: the money did not move; every reservation is released
    FAILED = "FAILED"  # final (payer): ended before any money was reserved

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({TransferState.COMMITTED, TransferState.ABORTED, TransferState.FAILED})

_S = TransferState
TRANSITIONS: dict[Direction, dict[TransferState | None, frozenset[TransferState]]] = {
    Direction.OUTBOUND: {
        # A simple transfer (POST /simpleTransfers) starts at TRANSFER_SENT.
        None: frozenset({_S.PARTY_LOOKUP_SENT, _S.PARTY_RECEIVED, _S.TRANSFER_SENT}),
        _S.PARTY_LOOKUP_SENT: frozenset({_S.PARTY_RECEIVED, _S.FAILED}),
        _S.PARTY_RECEIVED: frozenset({_S.QUOTE_REQUESTED, _S.FAILED}),
        _S.QUOTE_REQUESTED: frozenset({_S.QUOTE_RECEIVED, _S.FAILED}),
        _S.QUOTE_RECEIVED: frozenset({_S.FUNDS_RESERVED, _S.FAILED}),
        _S.FUNDS_RESERVED: frozenset({_S.TRANSFER_SENT, _S.ABORTED}),
        _S.TRANSFER_SENT: frozenset({_S.COMMITTED, _S.ABORTED}),
    },
    Direction.INBOUND: {
        None: frozenset({_S.RECEIVED}),
        _S.RECEIVED: frozenset({_S.RESERVED, _S.COMMITTED, _S.ABORTED}),
        _S.RESERVED: frozenset({_S.COMMITTED, _S.ABORTED}),
    },
}


class IllegalTransition(Exception):
    """A flow tried a move the table does not allow: a bug or a lost race (the caller treats
    it as 'someone else already moved this transfer')."""


def check_transition(
    direction: Direction, current: TransferState | None, new: TransferState
) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> new`` is in the table."""
    allowed = TRANSITIONS[direction].get(current, frozenset())
    if new not in allowed:
        raise IllegalTransition(f"{direction} transfer cannot go from {current} to {new}")


def _check_table() -> None:
    for direction, table in TRANSITIONS.items():
        for source, targets in table.items():
            assert source is None or not source.is_final, f"{direction}: {source} is final"
            assert targets, f"{direction}: {source} has no exit"


_check_table()
