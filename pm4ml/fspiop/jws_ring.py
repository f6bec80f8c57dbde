"""The JWS signing key ring: rotation with two keys valid at once, followed without a restart.

The ring is a JSON manifest beside the configured signing key, ``<signing key>.ring.json``.
It lists every key the DFSP has signed with or will sign with, each with its private and
public key files (names relative to the manifest), fingerprint, and three instants (UTC)::

    {"version": 1, "keys": [{"fingerprint": "SHA256:...", "algorithm": "RS256",
      "private_key": "payerfsp.key", "public_key": "payerfsp.key.pub.pem",
      "created": "...", "activates_at": "...", "retires_at": "..." | null}, ...]}

A key's state at an instant follows from those times alone, so a server that read the
manifest once knows when to switch without being told again:

``published``
    created, its public key handed to peers, not used for signing yet (``activates_at`` is
    in the future). Peers must accept it before it signs anything: that is the overlap.
``active``
    the key with the latest ``activates_at`` already passed: every request is signed with it.
``retiring``
    superseded by a newer active key but not yet past ``retires_at`` (the grace period):
    peers still accept it, for requests signed just before the switch.
``retired``
    past ``retires_at``: never used again; peers remove it (``pm4ml certs jws peers remove``).

Without a manifest the signing key file alone is used, as before rotation existed.
"""

from __future__ import annotations

import bisect
import datetime
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from cryptography.hazmat.primitives import serialization

from pm4ml.fspiop.jws import JwsSigner, load_public_keys

log = logging.getLogger(__name__)

RING_SUFFIX: Final = ".ring.json"
RING_VERSION: Final = 1
RELOAD_CHECK_SECONDS: Final = 1.0

KeyState = Literal["published", "active", "retiring", "retired"]


class Signer(Protocol):
    """What the FSPIOP client needs from a signer: one key or a ring of them."""

    @property
    def algorithm(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...

    def sign(
        self, *, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, str]: ...


def ring_path(signing_key: Path) -> Path:
    """Where the manifest of the ring anchored at ``signing_key`` lives."""
    return signing_key.with_name(signing_key.name + RING_SUFFIX)


def _instant(text: str) -> datetime.datetime:
    value = datetime.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return value.astimezone(datetime.UTC)


def _text(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class RingKey:
    """One key of the ring. File names are relative to the manifest's directory."""

    fingerprint: str
    algorithm: str
    private_key: str
    public_key: str
    created: datetime.datetime
    activates_at: datetime.datetime
    retires_at: datetime.datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "algorithm": self.algorithm,
            "private_key": self.private_key,
            "public_key": self.public_key,
            "created": _text(self.created),
            "activates_at": _text(self.activates_at),
            "retires_at": None if self.retires_at is None else _text(self.retires_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RingKey:
        retires = data.get("retires_at")
        for name in ("private_key", "public_key"):
            # Key files live beside the manifest: a path elsewhere is a mistake or an attack.
            if Path(data[name]).name != data[name] or data[name] in ("", ".", ".."):
                raise ValueError(f"{name} {data[name]!r} must be a file name, not a path")
        return cls(
            fingerprint=str(data["fingerprint"]),
            algorithm=str(data["algorithm"]),
            private_key=str(data["private_key"]),
            public_key=str(data["public_key"]),
            created=_instant(data["created"]),
            activates_at=_instant(data["activates_at"]),
            retires_at=None if retires is None else _instant(retires),
        )


@dataclass(frozen=True)
class KeyRing:
    """The manifest's content: keys in the order they were added."""

    keys: tuple[RingKey, ...]

    def active(self, at: datetime.datetime) -> RingKey | None:
        """The key signing at ``at``: the latest activation already passed (the later entry
        wins a tie), unless retired."""
        started = [key for key in self.keys if key.activates_at <= at]
        if not started:
            return None
        newest = max(reversed(started), key=lambda key: key.activates_at)
        return None if self._retired(newest, at) else newest

    def state(self, key: RingKey, at: datetime.datetime) -> KeyState:
        if self._retired(key, at):
            return "retired"
        if key.activates_at > at:
            return "published"
        return "active" if key == self.active(at) else "retiring"

    @staticmethod
    def _retired(key: RingKey, at: datetime.datetime) -> bool:
        return key.retires_at is not None and key.retires_at <= at

    def accepted(self, at: datetime.datetime) -> list[RingKey]:
        """The keys peers must accept at ``at``: every key not retired."""
        return [key for key in self.keys if not self._retired(key, at)]

    def rotating(self, at: datetime.datetime) -> bool:
        """True while a rotation is under way (a key published but not yet signing)."""
        return any(key.activates_at > at for key in self.keys)

    def with_rotation(
        self, new: RingKey, *, grace: datetime.timedelta, at: datetime.datetime
    ) -> KeyRing:
        """The ring after scheduling ``new``: the key active now retires ``grace`` after
        ``new`` activates. ``ValueError`` while another rotation is still in its overlap."""
        if self.rotating(at):
            raise ValueError("a rotation is already under way: its new key is not active yet")
        current = self.active(at)
        keys = [
            replace(key, retires_at=new.activates_at + grace) if key == current else key
            for key in self.keys
        ]
        return KeyRing((*keys, new))

    def to_json(self) -> dict[str, Any]:
        return {"version": RING_VERSION, "keys": [key.to_json() for key in self.keys]}

    @classmethod
    def read(cls, path: Path) -> KeyRing:
        """``ValueError`` naming the file for anything unreadable or malformed."""
        try:
            data = json.loads(path.read_bytes())
            if data.get("version") != RING_VERSION:
                raise ValueError(f"unknown ring version {data.get('version')!r}")
            return cls(tuple(RingKey.from_json(entry) for entry in data["keys"]))
        except OSError as exc:
            raise ValueError(f"{path}: {exc.strerror}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path}: not a valid JWS key ring ({exc})") from None

    def write(self, path: Path) -> None:
        """Replace the manifest atomically: a server re-reading it never sees half of it."""
        write_atomically(path, (json.dumps(self.to_json(), indent=2) + "\n").encode())


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class _Schedule:
    """Signers by activation time (epoch seconds), ascending; built once per manifest read."""

    starts: tuple[float, ...]
    signers: tuple[JwsSigner, ...]

    def at(self, now: float) -> tuple[JwsSigner, float]:
        """The signer in use at ``now`` and the instant it changes next (or +inf)."""
        index = bisect.bisect_right(self.starts, now) - 1
        if index < 0:
            raise ValueError("no JWS signing key is active yet")
        following = self.starts[index + 1] if index + 1 < len(self.starts) else float("inf")
        return self.signers[index], following


def _schedule(signing_key: Path, ring: KeyRing | None, now: datetime.datetime) -> _Schedule:
    if ring is None:
        return _Schedule((float("-inf"),), (JwsSigner(_read_key(signing_key)),))
    usable = sorted(ring.accepted(now), key=lambda key: key.activates_at)
    signers: list[JwsSigner] = []
    for key in usable:
        signer = JwsSigner(_read_key(signing_key.parent / key.private_key))
        if signer.fingerprint != key.fingerprint:
            raise ValueError(f"{key.private_key}: its fingerprint is not {key.fingerprint}")
        signers.append(signer)
    starts = tuple(key.activates_at.timestamp() for key in usable)
    schedule = _Schedule(starts, tuple(signers))
    schedule.at(now.timestamp())
    return schedule


def _read_key(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror}") from None


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return (found.st_ino, found.st_mtime_ns, found.st_size)


class RingSigner:
    """Signs with whichever key of the ring is active now, following the manifest on disk.

    Cheap on the hot path: the manifest is stat'ed at most once per ``check_seconds`` (not per
    request) and re-read only when it changed; switching at an activation time is a float
    comparison against the precomputed next switch. A manifest that cannot be used keeps the
    keys already loaded (logged), so a botched edit does not stop payments."""

    def __init__(self, signing_key: Path, *, check_seconds: float = RELOAD_CHECK_SECONDS) -> None:
        """``ValueError`` if the key or the ring cannot be used."""
        self._signing_key = signing_key
        self._ring_path = ring_path(signing_key)
        self._check_seconds = check_seconds
        self._stamp = _stamp(self._ring_path)
        self._schedule = self._load()
        self._checked_at = time.monotonic()
        self._current, self._switch_at = self._schedule.at(time.time())

    def _load(self) -> _Schedule:
        ring = KeyRing.read(self._ring_path) if self._stamp is not None else None
        return _schedule(self._signing_key, ring, datetime.datetime.now(datetime.UTC))

    def __repr__(self) -> str:
        return f"RingSigner(algorithm={self.algorithm!r}, public_key={self.fingerprint!r})"

    @property
    def algorithm(self) -> str:
        return self._signer().algorithm

    @property
    def fingerprint(self) -> str:
        return self._signer().fingerprint

    def sign(
        self, *, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, str]:
        """As :meth:`JwsSigner.sign`, with the key active now."""
        return self._signer().sign(method=method, url=url, headers=headers, body=body)

    def _signer(self) -> JwsSigner:
        if time.monotonic() - self._checked_at >= self._check_seconds:
            self._refresh()
        now = time.time()
        if now >= self._switch_at:
            self._current, self._switch_at = self._schedule.at(now)
            log.info("JWS signing switched to key %s", self._current.fingerprint)
        return self._current

    def _refresh(self) -> None:
        self._checked_at = time.monotonic()
        stamp = _stamp(self._ring_path)
        if stamp == self._stamp:
            return
        try:
            self._stamp = stamp
            schedule = self._load()
        except ValueError as exc:
            log.error("JWS key ring not reloaded, signing keys unchanged: %s", exc)
            return
        self._schedule = schedule
        self._current, self._switch_at = schedule.at(time.time())
        log.info("JWS key ring reloaded; signing with key %s", self._current.fingerprint)


def load_ring(signing_key: Path) -> KeyRing | None:
    """The ring anchored at ``signing_key``, or None when there is no manifest."""
    manifest = ring_path(signing_key)
    return KeyRing.read(manifest) if manifest.exists() else None


def accepted_public_pem(signing_key: Path, ring: KeyRing | None, at: datetime.datetime) -> bytes:
    """Every public key peers must accept at ``at`` (one PEM block each, in ring order): the
    ``<fspId>.pem`` file to publish. Without a ring, the signing key's public key alone."""
    if ring is None:
        return public_pem_of(signing_key)
    blocks = [_read_key(signing_key.parent / key.public_key) for key in ring.accepted(at)]
    for block in blocks:
        load_public_keys(block)
    return b"".join(block if block.endswith(b"\n") else block + b"\n" for block in blocks)


def public_pem_of(private_key: Path) -> bytes:
    """The SubjectPublicKeyInfo PEM of a private key file."""
    key = serialization.load_pem_private_key(_read_key(private_key), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
