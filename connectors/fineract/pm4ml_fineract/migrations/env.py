"""Alembic environment for the fineract connector's table (see pm4ml.store.migrate)."""

from pm4ml.store.migrate import run_env
from pm4ml_fineract.schema import metadata

run_env(metadata)
