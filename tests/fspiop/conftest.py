"""JWS fixtures: the reference's published test keys, loaded once per session.

Session scope matters: Hypothesis refuses function-scoped fixtures in ``@given`` tests, and RSA
key loading (with its consistency check) costs tens of milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest

from pm4ml.fspiop.jws import JwsSigner, JwsVerifier, PublicKey, load_public_keys
from tests.vectors import load_vector_file, shared_dir


@cache
def jws_pem(name: str) -> bytes:
    """The bytes of one ``jws_*.pem`` file from the shared vectors."""
    return (shared_dir() / name).read_bytes()


def _vector_keys() -> dict[str, list[PublicKey]]:
    by_fsp: dict[str, str] = load_vector_file("jws.json")["validation_keys_by_fsp"]
    return {fsp: load_public_keys(jws_pem(name)) for fsp, name in by_fsp.items()}


@pytest.fixture(scope="session")
def jws_signer() -> Callable[[str], JwsSigner]:
    """A factory: the signer for a vector key file name, built once per name."""
    return cache(lambda name: JwsSigner(jws_pem(name)))


@pytest.fixture(scope="session")
def jws_verifier() -> JwsVerifier:
    """The default verifier (raw bytes, then canonical fallback) with the vectors' FSP keys."""
    return JwsVerifier(_vector_keys())


@pytest.fixture(scope="session")
def jws_strict_verifier() -> JwsVerifier:
    """The same keys, raw bytes only: what ``strict_raw_body_validation`` describes."""
    return JwsVerifier(_vector_keys(), canonical_fallback=False)
