"""pm4ml: a payment manager for Mojaloop, the software a DFSP runs to join a Mojaloop scheme."""

__version__ = "0.1.0"
