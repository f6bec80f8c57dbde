"""mTLS from the settings: all three files of a side or none, and the FSPIOP client really
presents its certificate to an mTLS server."""

from __future__ import annotations

from pathlib import Path

import pytest

from pm4ml.config import ConfigError, Settings
from pm4ml.fspiop.headers import ApiVersion
from pm4ml.tls.settings import client_tls, server_tls
from pm4ml.transport.client import ClientOptions, FspiopClient
from tests.tls.pki import issue, make_ca
from tests.tls.test_mtls import serving


def test_no_tls_files_means_plain_http() -> None:
    settings = Settings()
    assert server_tls(settings) is None
    assert client_tls(settings) is None


def test_partial_tls_files_name_the_missing_settings(tmp_path: Path) -> None:
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(ConfigError, match="PM4ML_TLS_SERVER_KEY_PATH, PM4ML_TLS_SERVER_CA_PATH"):
        server_tls(Settings(tls_server_cert_path=cert))
    missing = tmp_path / "missing.pem"
    with pytest.raises(ConfigError, match="PM4ML_TLS_CLIENT_CERT_PATH: no such file"):
        client_tls(
            Settings(
                tls_client_cert_path=missing, tls_client_key_path=cert, tls_client_ca_path=cert
            )
        )


def test_unloadable_files_are_a_configuration_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not pem")
    with pytest.raises(ConfigError, match="PM4ML_TLS_SERVER_"):
        server_tls(
            Settings(tls_server_cert_path=junk, tls_server_key_path=junk, tls_server_ca_path=junk)
        )


async def test_fspiop_client_talks_mtls_from_settings(tmp_path: Path) -> None:
    ca = make_ca(tmp_path, "hub-ca")
    server = issue(ca, tmp_path, "hub", server=True)
    client = issue(ca, tmp_path, "dfsp", server=False)
    settings = Settings(
        tls_server_cert_path=server.cert,
        tls_server_key_path=server.key,
        tls_server_ca_path=server.ca,
        tls_client_cert_path=client.cert,
        tls_client_key_path=client.key,
        tls_client_ca_path=client.ca,
    )
    inbound = server_tls(settings)
    assert inbound is not None
    async with serving(inbound.context) as port:
        fspiop = FspiopClient(
            ClientOptions(
                base_url=f"https://127.0.0.1:{port}",
                source="dfsp",
                sign=False,
                ssl_context=client_tls(settings),
            ),
            None,
        )
        try:
            sent = await fspiop.send(
                "GET", "/parties/MSISDN/123", destination=None, version=ApiVersion(1, 1)
            )
        finally:
            await fspiop.aclose()
    assert sent.status_code == 200
    assert sent.response_body == b"hello"
