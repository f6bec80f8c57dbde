"""The JWS key ring on real files: key states over time, the running signer following the
manifest without a restart, and the verifier following the verification-keys directory."""

from __future__ import annotations

import datetime
import json
import os
import time
from pathlib import Path

import pytest

from pm4ml.certs.jws_peers import PeerKeys
from pm4ml.certs.jws_rotation import rotate
from pm4ml.certs.keys import generate, public_pem, write_private_key
from pm4ml.fspiop import jws
from pm4ml.fspiop.errors import FspiopError
from pm4ml.fspiop.jws import JwsVerifier, load_public_keys
from pm4ml.fspiop.jws_ring import KeyRing, RingSigner, public_pem_of, ring_path
from pm4ml.fspiop.jws_ring import Signer as SignerProtocol

HOUR = datetime.timedelta(hours=1)
BODY = b'{"transferId":"b51ec534-ee48-4575-b6a9-ead2955b8069"}'


@pytest.fixture
def now() -> datetime.datetime:
    """An instant later than any key file the test writes (the key in use counts as active
    from its file's mtime), taken when the test starts, not when the module is imported."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0) + datetime.timedelta(
        minutes=5
    )


def _signing_key(directory: Path) -> Path:
    path = directory / "payerfsp.key"
    write_private_key(generate("rsa2048"), path)
    return path


def _signed(signer: SignerProtocol) -> dict[str, str]:
    headers = {"fspiop-source": "payerfsp", "date": "Mon, 23 Nov 2026 10:00:00 GMT"}
    url = "http://payee.example/transfers"
    return headers | signer.sign(method="POST", url=url, headers=headers, body=BODY)


def _verifier_for(*public_key_files: Path) -> JwsVerifier:
    keys = [key for path in public_key_files for key in load_public_keys(path.read_bytes())]
    return JwsVerifier({"payerfsp": keys})


def test_states_follow_the_schedule(tmp_path: Path, now: datetime.datetime) -> None:
    key = _signing_key(tmp_path)
    done = rotate(key, key_type="p256", overlap=HOUR, grace=2 * HOUR, publish_to=None, now=now)
    ring = KeyRing.read(ring_path(key))
    old, new = ring.keys
    assert new == done.new and new.algorithm == "ES256"
    assert old.retires_at == now + 3 * HOUR
    expected = {
        now: ("active", "published"),
        now + HOUR: ("retiring", "active"),
        now + 3 * HOUR - datetime.timedelta(seconds=1): ("retiring", "active"),
        now + 3 * HOUR: ("retired", "active"),
    }
    for at, (old_state, new_state) in expected.items():
        assert (ring.state(old, at), ring.state(new, at)) == (old_state, new_state), at
    assert ring.accepted(now + HOUR) == [old, new]
    assert ring.accepted(now + 3 * HOUR) == [new]


def test_a_second_rotation_waits_for_the_first_to_switch(
    tmp_path: Path, now: datetime.datetime
) -> None:
    key = _signing_key(tmp_path)
    rotate(key, key_type="rsa2048", overlap=HOUR, grace=HOUR, publish_to=None, now=now)
    before = ring_path(key).read_bytes()
    with pytest.raises(ValueError, match="already under way"):
        rotate(key, key_type="rsa2048", overlap=HOUR, grace=HOUR, publish_to=None, now=now)
    assert ring_path(key).read_bytes() == before
    # After the switch the next rotation retires the key that is active then.
    later = rotate(
        key, key_type="rsa2048", overlap=HOUR, grace=HOUR, publish_to=None, now=now + 2 * HOUR
    )
    ring = KeyRing.read(ring_path(key))
    assert [ring.state(entry, now + 2 * HOUR) for entry in ring.keys] == [
        "retired",
        "active",
        "published",
    ]
    assert later.old == ring.keys[1]


def test_rotation_publishes_both_public_keys_and_refuses_a_non_jws_key_type(
    tmp_path: Path, now: datetime.datetime
) -> None:
    key = _signing_key(tmp_path)
    with pytest.raises(ValueError, match="cannot sign JWS"):
        rotate(key, key_type="p384", overlap=HOUR, grace=HOUR, publish_to=None, now=now)
    assert not ring_path(key).exists()
    done = rotate(
        key, key_type="rsa2048", overlap=HOUR, grace=HOUR, publish_to=(tmp_path / "pub", "payerfsp")
    )
    assert done.published == tmp_path / "pub" / "payerfsp.pem"
    published = [jws.key_fingerprint(k) for k in load_public_keys(done.published.read_bytes())]
    assert published == [done.old.fingerprint, done.new.fingerprint]
    new_private = tmp_path / done.new.private_key
    assert oct(new_private.stat().st_mode & 0o777) == "0o600"


def test_the_signer_switches_at_activation_without_a_restart(tmp_path: Path) -> None:
    key = _signing_key(tmp_path)
    signer = RingSigner(key, check_seconds=0)
    old_fingerprint = signer.fingerprint
    old_public = tmp_path / "payerfsp.key.pub.pem"
    old_public.write_bytes(public_pem_of(key))
    _verifier_for(old_public).verify(method="POST", headers=_signed(signer), body=BODY)
    done = rotate(
        key,
        key_type="rsa2048",
        overlap=datetime.timedelta(seconds=2),
        grace=HOUR,
        publish_to=None,
    )
    # During the overlap the running signer still signs with the old key...
    assert signer.fingerprint == old_fingerprint
    _verifier_for(old_public).verify(method="POST", headers=_signed(signer), body=BODY)
    time.sleep(max(0.0, done.new.activates_at.timestamp() - time.time()) + 0.05)
    # ...and from the activation instant on with the new one, no restart, no re-read needed.
    assert signer.fingerprint == done.new.fingerprint
    new_only = _verifier_for(tmp_path / done.new.public_key)
    new_only.verify(method="POST", headers=_signed(signer), body=BODY)
    with pytest.raises(FspiopError) as refused:
        _verifier_for(old_public).verify(method="POST", headers=_signed(signer), body=BODY)
    assert refused.value.code_text == "3105"


def test_a_broken_manifest_keeps_the_keys_in_use(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = _signing_key(tmp_path)
    signer = RingSigner(key, check_seconds=0)
    fingerprint = signer.fingerprint
    ring_path(key).write_text('{"version": 1, "keys": [{"private_key": "../x"}]}')
    assert signer.fingerprint == fingerprint
    assert "JWS key ring not reloaded" in caplog.text
    with pytest.raises(ValueError, match="not a valid JWS key ring"):
        RingSigner(key)


def test_a_ring_key_whose_file_does_not_match_its_fingerprint_is_refused(
    tmp_path: Path, now: datetime.datetime
) -> None:
    key = _signing_key(tmp_path)
    rotate(key, key_type="p256", overlap=HOUR, grace=HOUR, publish_to=None, now=now)
    manifest = json.loads(ring_path(key).read_text())
    manifest["keys"][0]["fingerprint"] = manifest["keys"][1]["fingerprint"]
    ring_path(key).write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="its fingerprint is not"):
        RingSigner(key)


def test_the_ring_signer_checks_the_manifest_at_most_once_per_interval(tmp_path: Path) -> None:
    key = _signing_key(tmp_path)
    signer = RingSigner(key, check_seconds=3600)
    fingerprint = signer.fingerprint
    rotate(key, key_type="p256", overlap=datetime.timedelta(0), grace=HOUR, publish_to=None)
    # Activated already, but not seen: the manifest is not looked at within the interval.
    assert signer.fingerprint == fingerprint


def _write_peer(directory: Path, fsp_id: str, *pems: bytes) -> None:
    directory.mkdir(exist_ok=True)
    (directory / f"{fsp_id}.pem").write_bytes(b"".join(pems))


def test_the_verifier_follows_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    peers_dir = tmp_path / "peers"
    old_key, new_key = generate("rsa2048"), generate("p256")
    old_private, new_private = tmp_path / "old.key", tmp_path / "new.key"
    write_private_key(old_key, old_private)
    write_private_key(new_key, new_private)
    _write_peer(peers_dir, "payerfsp", public_pem(old_key))
    monkeypatch.setattr(jws, "RELOAD_CHECK_SECONDS", 3600.0)
    verifier = JwsVerifier.from_directory(peers_dir)
    old_signed = _signed(jws.JwsSigner(old_private.read_bytes()))
    new_signed = _signed(jws.JwsSigner(new_private.read_bytes()))
    verifier.verify(method="POST", headers=old_signed, body=BODY)

    PeerKeys(peers_dir).add("payerfsp", public_pem(new_key))
    # Within the check interval the directory is not looked at again.
    with pytest.raises(FspiopError):
        verifier.verify(method="POST", headers=new_signed, body=BODY)
    monkeypatch.setattr(jws, "RELOAD_CHECK_SECONDS", 0.0)
    verifier.verify(method="POST", headers=new_signed, body=BODY)
    verifier.verify(method="POST", headers=old_signed, body=BODY)

    PeerKeys(peers_dir).remove("payerfsp", jws.key_fingerprint(old_key.public_key()))
    with pytest.raises(FspiopError) as refused:
        verifier.verify(method="POST", headers=old_signed, body=BODY)
    assert refused.value.code_text == "3105"
    verifier.verify(method="POST", headers=new_signed, body=BODY)

    # A file that cannot be read keeps that peer's previous keys, and says so.
    (peers_dir / "payerfsp.pem").write_bytes(b"-----BEGIN PUBLIC KEY-----\nhalf")
    verifier.verify(method="POST", headers=new_signed, body=BODY)
    assert "JWS verification keys of payerfsp unchanged" in caplog.text

    os.unlink(peers_dir / "payerfsp.pem")
    with pytest.raises(FspiopError, match="no JWS key is known"):
        verifier.verify(method="POST", headers=new_signed, body=BODY)
