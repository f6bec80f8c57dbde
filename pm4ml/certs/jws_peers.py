"""Peers' JWS public keys: the verification-keys directory the inbound server follows.

``<dir>/<fspId>.pem`` holds the keys accepted from a peer (one PEM block each; several during
the peer's rotation). A removed key is not deleted but appended to ``<dir>/retired/<fspId>.pem``,
which the server never reads: the record of what was once trusted, and of what is refused.
Every file is replaced atomically, so the running server never reads half of one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from cryptography.hazmat.primitives import serialization

from pm4ml.config import FSP_ID_PATTERN
from pm4ml.fspiop.jws import PublicKey, key_algorithm, key_fingerprint, load_public_keys
from pm4ml.fspiop.jws_ring import write_atomically

RETIRED_DIR: Final = "retired"
_FSP_ID: Final = re.compile(FSP_ID_PATTERN)

PeerKeyState = Literal["active", "retired"]


@dataclass(frozen=True)
class PeerKey:
    fsp_id: str
    algorithm: str
    fingerprint: str
    state: PeerKeyState


def check_fsp_id(fsp_id: str) -> str:
    """``fsp_id`` if it is a valid FSP id, which is also a safe file name (no separator). A
    leading dot is refused too: the server skips hidden files, as editors' temporary ones."""
    if not _FSP_ID.match(fsp_id) or fsp_id.startswith("."):
        raise ValueError(f"{fsp_id!r} is not a valid FSP id (1-32 of A-Z a-z 0-9 . _ -)")
    return fsp_id


def _pem(key: PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _keys_in(path: Path) -> list[PublicKey]:
    if not path.exists():
        return []
    try:
        return load_public_keys(path.read_bytes())
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _write(path: Path, keys: list[PublicKey]) -> None:
    if keys:
        write_atomically(path, b"".join(_pem(key) for key in keys))
    else:
        path.unlink(missing_ok=True)


class PeerKeys:
    """The verification-keys directory of this DFSP."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _active_path(self, fsp_id: str) -> Path:
        return self.directory / f"{check_fsp_id(fsp_id)}.pem"

    def _retired_path(self, fsp_id: str) -> Path:
        return self.directory / RETIRED_DIR / f"{check_fsp_id(fsp_id)}.pem"

    def active(self, fsp_id: str) -> list[PublicKey]:
        return _keys_in(self._active_path(fsp_id))

    def add(self, fsp_id: str, pem: bytes) -> list[str]:
        """Accept the public key(s) of ``pem`` from ``fsp_id``; the fingerprints added. Keys
        already accepted are skipped, so the file a peer publishes during its rotation (its
        old and new key) can be added as is. ``ValueError`` for a private key or anything else
        not a public key, a key not allowed for JWS, or nothing new (the file is left as it
        was)."""
        new = load_public_keys(pem)
        current = self.active(fsp_id)
        known = {key_fingerprint(key) for key in current}
        adding: list[PublicKey] = []
        for key in new:
            fingerprint = key_fingerprint(key)
            if fingerprint not in known:
                known.add(fingerprint)
                adding.append(key)
        if not adding:
            raise ValueError(f"every key given is already a key of {fsp_id}")
        added = [key_fingerprint(key) for key in adding]
        self.directory.mkdir(parents=True, exist_ok=True)
        _write(self._active_path(fsp_id), current + adding)
        # A key trusted again is no longer listed as retired.
        retired = self._retired_path(fsp_id)
        _write(retired, [key for key in _keys_in(retired) if key_fingerprint(key) not in added])
        return added

    def remove(self, fsp_id: str, fingerprint: str | None = None) -> list[str]:
        """Retire one key of ``fsp_id`` (or all with ``fingerprint`` None); the fingerprints
        retired. ``ValueError`` if there is nothing to retire."""
        current = self.active(fsp_id)
        leaving = [key for key in current if fingerprint in (None, key_fingerprint(key))]
        if not leaving:
            what = f"key {fingerprint}" if fingerprint else "key"
            raise ValueError(f"{fsp_id} has no active {what}")
        retired = self._retired_path(fsp_id)
        retired.parent.mkdir(parents=True, exist_ok=True)
        # Recorded as retired before it stops being accepted: a crash in between leaves the
        # key both listed and accepted, never silently gone.
        _write(retired, _keys_in(retired) + leaving)
        _write(self._active_path(fsp_id), [key for key in current if key not in leaving])
        return [key_fingerprint(key) for key in leaving]

    def keys(self) -> list[PeerKey]:
        """Every key by FSP id, active ones first, each in file order."""
        found: list[PeerKey] = []
        fsp_ids = {path.stem for path in self.directory.glob("*.pem")}
        fsp_ids |= {path.stem for path in (self.directory / RETIRED_DIR).glob("*.pem")}
        for fsp_id in sorted(fsp_ids):
            if not _FSP_ID.match(fsp_id) or fsp_id.startswith("."):
                continue
            places: tuple[tuple[PeerKeyState, Path], ...] = (
                ("active", self._active_path(fsp_id)),
                ("retired", self._retired_path(fsp_id)),
            )
            for state, path in places:
                found.extend(
                    PeerKey(fsp_id, key_algorithm(key), key_fingerprint(key), state)
                    for key in _keys_in(path)
                )
        return found
