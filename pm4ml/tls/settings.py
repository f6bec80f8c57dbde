"""The TLS contexts the settings ask for: none (plain HTTP), or mutual TLS with all three
files of a side set."""

from __future__ import annotations

import ssl

from pm4ml.config import ConfigError, Settings
from pm4ml.tls.context import ReloadingClientContext, ReloadingServerContext, TlsFiles


def _files(settings: Settings, side: str) -> TlsFiles | None:
    paths = {part: getattr(settings, f"tls_{side}_{part}_path") for part in ("cert", "key", "ca")}
    if all(path is None for path in paths.values()):
        return None
    missing = [f"PM4ML_TLS_{side.upper()}_{p.upper()}_PATH" for p, v in paths.items() if v is None]
    if missing:
        raise ConfigError(f"mutual TLS needs all three files; not set: {', '.join(missing)}")
    for part, path in paths.items():
        if not path.is_file():
            raise ConfigError(f"PM4ML_TLS_{side.upper()}_{part.upper()}_PATH: no such file {path}")
    return TlsFiles(cert=paths["cert"], key=paths["key"], ca=paths["ca"])


def server_tls(settings: Settings) -> ReloadingServerContext | None:
    """The inbound server's mTLS context (reloaded from disk), or None for plain HTTP."""
    files = _files(settings, "server")
    if files is None:
        return None
    try:
        return ReloadingServerContext(files)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"PM4ML_TLS_SERVER_*: cannot load the certificate or key: {exc}") from exc


def client_tls(settings: Settings) -> ReloadingClientContext | None:
    """The FSPIOP client's mTLS context (reloaded from disk), or None to use the system's
    default verification."""
    files = _files(settings, "client")
    if files is None:
        return None
    try:
        return ReloadingClientContext(files)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"PM4ML_TLS_CLIENT_*: cannot load the certificate or key: {exc}") from exc
