"""Rotating the JWS signing key: publish the new key first, switch after the overlap, retire
the old key after the grace period (the states are described in :mod:`pm4ml.fspiop.jws_ring`).

The order on disk is what keeps payments flowing: the new private and public key files are
written, then the public keys peers must accept are published, and only then is the ring
manifest replaced (atomically), which is what schedules the switch a running server follows.
A crash before the manifest is written leaves signing exactly as it was.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from pm4ml.certs.keys import KeyType, generate, public_pem, write_private_key
from pm4ml.fspiop.jws import JwsSigner, key_algorithm, key_fingerprint
from pm4ml.fspiop.jws_ring import (
    KeyRing,
    RingKey,
    accepted_public_pem,
    load_ring,
    public_pem_of,
    ring_path,
    write_atomically,
)

JWS_KEY_TYPES: tuple[KeyType, ...] = ("rsa2048", "rsa3072", "rsa4096", "p256")


@dataclass(frozen=True)
class Rotation:
    """What ``rotate`` did, for the operator."""

    new: RingKey
    old: RingKey
    published: Path | None


def initial_ring(signing_key: Path) -> KeyRing:
    """A ring holding only the key in use now, active since its file was written."""
    signer = JwsSigner(signing_key.read_bytes())
    public = signing_key.with_name(signing_key.name + ".pub.pem")
    if not public.exists():
        write_atomically(public, public_pem_of(signing_key))
    since = datetime.datetime.fromtimestamp(int(signing_key.stat().st_mtime), datetime.UTC)
    key = RingKey(
        fingerprint=signer.fingerprint,
        algorithm=signer.algorithm,
        private_key=signing_key.name,
        public_key=public.name,
        created=since,
        activates_at=since,
    )
    return KeyRing((key,))


def publish(
    signing_key: Path, ring: KeyRing | None, directory: Path, fsp_id: str, at: datetime.datetime
) -> Path:
    """Write ``<directory>/<fsp_id>.pem``: every public key peers must accept at ``at``."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{fsp_id}.pem"
    write_atomically(target, accepted_public_pem(signing_key, ring, at))
    return target


def _whole_second_up(at: datetime.datetime) -> datetime.datetime:
    whole = at.replace(microsecond=0)
    return whole if whole == at else whole + datetime.timedelta(seconds=1)


def rotate(
    signing_key: Path,
    *,
    key_type: KeyType,
    overlap: datetime.timedelta,
    grace: datetime.timedelta,
    publish_to: tuple[Path, str] | None,
    now: datetime.datetime | None = None,
) -> Rotation:
    """Generate a new signing key that activates ``overlap`` from now; the key active now
    retires ``grace`` after that. ``publish_to`` is (directory, own FSP id) for the published
    ``<fspId>.pem``. ``ValueError`` if a rotation is already under way or a key is unusable."""
    if key_type not in JWS_KEY_TYPES:
        raise ValueError(f"{key_type} cannot sign JWS; use one of {', '.join(JWS_KEY_TYPES)}")
    # Whole seconds: what the manifest records is what the caller is shown.
    now = (now or datetime.datetime.now(datetime.UTC)).replace(microsecond=0)
    ring = load_ring(signing_key) or initial_ring(signing_key)
    if ring.rotating(now):
        raise ValueError("a rotation is already under way: its new key is not active yet")
    old = ring.active(now)
    if old is None:
        raise ValueError(f"{ring_path(signing_key)}: no key is active now")
    key = generate(key_type)
    stem = signing_key.name.removesuffix(signing_key.suffix)
    private = signing_key.with_name(f"{stem}-{now:%Y%m%dT%H%M%SZ}{signing_key.suffix or '.key'}")
    public = private.with_name(private.name + ".pub.pem")
    write_private_key(key, private)
    write_atomically(public, public_pem(key))
    new = RingKey(
        fingerprint=key_fingerprint(key.public_key()),
        algorithm=key_algorithm(key.public_key()),
        private_key=private.name,
        public_key=public.name,
        created=now,
        # The overlap counts from when the schedule is written, not from before the (slow)
        # key generation, and is rounded up: never shorter than asked.
        activates_at=_whole_second_up(max(now, datetime.datetime.now(datetime.UTC)) + overlap),
    )
    rotated = ring.with_rotation(new, grace=grace, at=now)
    published = None
    if publish_to is not None:
        published = publish(signing_key, rotated, publish_to[0], publish_to[1], now)
    rotated.write(ring_path(signing_key))
    retiring = next(key for key in rotated.keys if key.fingerprint == old.fingerprint)
    return Rotation(new=new, old=retiring, published=published)
