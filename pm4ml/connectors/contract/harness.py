"""What the contract suite needs from a connector's tests: the connector and a "CBS control"."""

from __future__ import annotations

import abc
import enum
from decimal import Decimal

from pm4ml.connectors import Connector, PartyId


class Capability(enum.StrEnum):
    """Optional behaviours the suite checks only on connectors whose CBS has them."""

    #: The CBS holds and debits the payer's funds (``reserve_funds`` can refuse for money).
    PAYER_FUNDS = "payer_funds"
    #: Accounts can be blocked; a blocked account is refused with ``Blocked``.
    BLOCKING = "blocking"
    #: Accounts can have a single-transfer limit, refused with ``LimitExceeded``.
    LIMITS = "limits"


class ContractHarness(abc.ABC):
    """A started connector over a CBS the test controls.

    ``connector`` is started before the suite uses it; the fixture that yields the harness
    closes it afterwards.
    """

    #: What the suite may check beyond the core contract.
    capabilities: frozenset[Capability] = frozenset()

    @property
    @abc.abstractmethod
    def connector(self) -> Connector:
        """The connector under test, started."""

    @abc.abstractmethod
    async def open_account(
        self,
        party: PartyId,
        currency: str,
        balance: Decimal,
        *,
        blocked: bool = False,
        max_single_transfer: Decimal | None = None,
    ) -> None:
        """Open an account for ``party`` in ``currency`` holding ``balance``. ``blocked`` and
        ``max_single_transfer`` are only asked for with the matching capability."""

    @abc.abstractmethod
    async def balance(self, party: PartyId, currency: str) -> Decimal:
        """The account's booked balance: money that moved, not money merely held."""
