"""TLS contexts for mutual TLS: the inbound server requires and verifies a client certificate,
the FSPIOP client presents one and verifies the hub. TLS 1.2 is the floor (1.3 is negotiated
whenever the peer offers it) and only forward-secret AEAD suites are allowed on 1.2.

Certificates and keys are re-read from disk when their files change, without a restart: the
server checks the files' modification times at each handshake (at most once per
``check_interval`` seconds) and hands the new handshake a freshly built context, so
connections already established keep theirs and in-flight transfers are not dropped. The
client does the same before a request: the renewed certificate is loaded into its context, so
every connection opened from then on presents it.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# TLS 1.2 suites: ECDHE key exchange (forward secrecy) with AES-GCM or ChaCha20-Poly1305
# only. TLS 1.3 suites are all strong and are not affected by this string.
CIPHERS_TLS12 = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!MD5:!DSS:!RC4:!3DES"


@dataclass(frozen=True)
class TlsFiles:
    """The PEM files of one side of a mutual-TLS connection."""

    cert: Path
    key: Path
    ca: Path

    def mtimes(self) -> tuple[int, int, int]:
        return (
            self.cert.stat().st_mtime_ns,
            self.key.stat().st_mtime_ns,
            self.ca.stat().st_mtime_ns,
        )


def _base(purpose: ssl.Purpose, files: TlsFiles) -> ssl.SSLContext:
    context = ssl.create_default_context(purpose, cafile=str(files.ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(CIPHERS_TLS12)
    context.load_cert_chain(str(files.cert), str(files.key))
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """A server context that refuses any client without a certificate issued by ``files.ca``."""
    return _base(ssl.Purpose.CLIENT_AUTH, files)


def client_context(files: TlsFiles) -> ssl.SSLContext:
    """A client context that presents ``files.cert`` and verifies the server's certificate
    against ``files.ca``, hostname included."""
    context = _base(ssl.Purpose.SERVER_AUTH, files)
    context.check_hostname = True
    return context


class ReloadingServerContext:
    """A server ``SSLContext`` whose certificate, key and CA bundle follow the files on disk.

    ``context`` is the one to give the server; each handshake runs its SNI callback, which
    swaps in a context rebuilt from the files when they changed. A change that cannot be
    loaded (half-written file, key not matching) keeps the previous context, so a botched
    copy does not take the server down; the next handshake tries again.
    """

    def __init__(self, files: TlsFiles, check_interval: float = 1.0) -> None:
        self.files = files
        self._check_interval = check_interval
        self._lock = threading.Lock()
        self._mtimes = files.mtimes()
        self._checked_at = time.monotonic()
        self._current = server_context(files)
        self.context = server_context(files)
        self.context.sni_callback = self._on_handshake
        self.reloads = 0

    def refresh(self) -> bool:
        """Reload now if the files changed; True when a new context was built."""
        with self._lock:
            self._checked_at = time.monotonic()
            try:
                mtimes = self.files.mtimes()
                if mtimes == self._mtimes:
                    return False
                self._current = server_context(self.files)
            except (OSError, ssl.SSLError, ValueError):
                return False
            self._mtimes = mtimes
            self.reloads += 1
            return True

    def _on_handshake(
        self, connection: ssl.SSLSocket | ssl.SSLObject, server_name: str | None, _: ssl.SSLContext
    ) -> None:
        if time.monotonic() - self._checked_at >= self._check_interval:
            self.refresh()
        if self.reloads:
            connection.context = self._current


class ReloadingClientContext:
    """A client ``SSLContext`` whose certificate and key follow the files on disk.

    ``context`` is the one to give the HTTP connector; call :meth:`maybe_refresh` before a
    request (it looks at the files at most once per ``check_interval``). A renewed certificate
    and key are loaded into that same context, so connections opened afterwards present them
    while pooled connections finish with the old ones. CA certificates added to the bundle are
    trusted from then on; one removed from it stays trusted until a restart (OpenSSL has no way
    to forget a CA in a live context). Files that cannot be loaded are ignored until fixed.
    """

    def __init__(self, files: TlsFiles, check_interval: float = 1.0) -> None:
        self.files = files
        self._check_interval = check_interval
        self._mtimes = files.mtimes()
        self._checked_at = time.monotonic()
        self.context = client_context(files)
        self.reloads = 0

    def maybe_refresh(self) -> None:
        if time.monotonic() - self._checked_at >= self._check_interval:
            self.refresh()

    def refresh(self) -> bool:
        """Reload now if the files changed; True when the new certificate was loaded."""
        self._checked_at = time.monotonic()
        try:
            mtimes = self.files.mtimes()
            if mtimes == self._mtimes:
                return False
            # A throw-away context first: loading a mismatched pair straight into the live
            # context would leave it with the new certificate and the old key.
            client_context(self.files)
            self.context.load_cert_chain(str(self.files.cert), str(self.files.key))
            self.context.load_verify_locations(cafile=str(self.files.ca))
        except (OSError, ssl.SSLError, ValueError):
            return False
        self._mtimes = mtimes
        self.reloads += 1
        return True
