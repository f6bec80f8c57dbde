"""The fineract connector over HTTPS: Fineract's certificate is checked against
``PM4ML_FINERACT_TLS_CA_FILE`` (or the system CAs, which do not know the test CA: 2003), and
``PM4ML_FINERACT_TLS_VERIFY=false`` turns the check off."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import trustme
from fineract_tests.conftest import make_connector, open_account
from fineract_tests.fake import API, Fineract
from sqlalchemy.ext.asyncio import AsyncEngine

from pm4ml.connectors import PartyId, Unavailable
from tests.support import serve_app

PARTY = PartyId("MSISDN", "255700000009")


@contextlib.asynccontextmanager
async def serve_tls(fineract: Fineract, ca: trustme.CA, directory: Path) -> AsyncIterator[str]:
    server_pem = directory / "server.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    async with serve_app(fineract.app(), ssl_certfile=str(server_pem)) as url:
        yield url + API


async def test_fineract_over_https(tmp_path: Path, engine: AsyncEngine) -> None:
    ca = trustme.CA()
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    fineract = Fineract()
    open_account(fineract, PARTY, "USD", Decimal(1))
    async with serve_tls(fineract, ca, tmp_path) as url:
        fineract.url = url
        trusting = make_connector(fineract, engine, TLS_CA_FILE=str(ca_pem))
        unchecked = make_connector(fineract, engine, TLS_VERIFY="false")
        system_cas = make_connector(fineract, engine, RETRIES="0")
        for connector in (trusting, unchecked, system_cas):
            await connector.start()
        try:
            assert (await trusting.lookup_party(PARTY)).supported_currencies == ("USD",)
            assert (await unchecked.lookup_party(PARTY)).supported_currencies == ("USD",)
            with pytest.raises(Unavailable):
                await system_cas.lookup_party(PARTY)
        finally:
            for connector in (trusting, unchecked, system_cas):
                await connector.close()
