"""The http connector reaches a backend that demands mutual TLS, with the certificate files
of its settings; without a client certificate the backend is unreachable (2003)."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import trustme
from http_tests.backend import Account, Backend
from http_tests.conftest import make_connector

from pm4ml.connectors import PartyId, Unavailable
from tests.support import serve_app

PARTY = PartyId("MSISDN", "255700000009")


@contextlib.asynccontextmanager
async def serve_mtls(backend: Backend, ca: trustme.CA, directory: Path) -> AsyncIterator[str]:
    server_pem = directory / "server.pem"
    ca_pem = directory / "ca.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    ca.cert_pem.write_to_path(str(ca_pem))
    async with serve_app(
        backend.app(),
        ssl_certfile=str(server_pem),
        ssl_ca_certs=str(ca_pem),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
    ) as url:
        yield url


async def test_mutual_tls_to_the_backend(tmp_path: Path) -> None:
    ca = trustme.CA()
    client_pem = tmp_path / "client.pem"
    ca.issue_cert("pm4ml-client").private_key_and_cert_chain_pem.write_to_path(str(client_pem))
    backend = Backend()
    backend.accounts[(PARTY.id_type, PARTY.id_value, None)] = Account("USD", Decimal(1))
    async with serve_mtls(backend, ca, tmp_path) as url:
        ca_pem = tmp_path / "ca.pem"
        good = make_connector(
            url,
            backend_tls_cert_file=client_pem,
            backend_tls_key_file=client_pem,
            backend_tls_ca_file=ca_pem,
        )
        anonymous = make_connector(url, backend_tls_ca_file=ca_pem, backend_retries=0)
        await good.start()
        await anonymous.start()
        try:
            assert (await good.lookup_party(PARTY)).supported_currencies == ("USD",)
            with pytest.raises(Unavailable):
                await anonymous.lookup_party(PARTY)
        finally:
            await good.close()
            await anonymous.close()
