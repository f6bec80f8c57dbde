"""pm4ml's embedded core banking system: a double-entry SQL ledger with accounts, balances
and reservations, exposed as the ``ledger`` connector and the ``pm4ml ledger`` commands."""

from pm4ml_ledger.accounts import Account, Balance
from pm4ml_ledger.connector import LedgerConnector
from pm4ml_ledger.errors import AccountExists, AccountNotFound, LedgerError
from pm4ml_ledger.ledger import Ledger, SeedResult
from pm4ml_ledger.schema import AccountKind, AccountStatus, Direction, ReservationState
from pm4ml_ledger.seed import SeedAccount, SeedError

__version__ = "0.1.0"

__all__ = [
    "Account",
    "AccountExists",
    "AccountKind",
    "AccountNotFound",
    "AccountStatus",
    "Balance",
    "Direction",
    "Ledger",
    "LedgerConnector",
    "LedgerError",
    "ReservationState",
    "SeedAccount",
    "SeedError",
    "SeedResult",
    "__version__",
]
