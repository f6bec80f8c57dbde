"""``pm4ml certs jws`` on real files: keygen, rotate/status/publish, peers add/list/remove/verify,
exit codes and settings used for options left out."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pm4ml.certs.keys import KeyType, generate, public_pem, write_private_key
from pm4ml.cli import app
from pm4ml.fspiop import canonical
from pm4ml.fspiop.jws import JwsSigner, key_fingerprint, load_public_keys
from pm4ml.fspiop.jws_ring import KeyRing, ring_path

runner = CliRunner()


def jws(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, ["certs", "jws", *map(str, args)])
    return result.exit_code, result.output


def _fingerprint(pem_file: Path) -> str:
    return key_fingerprint(load_public_keys(pem_file.read_bytes())[0])


@pytest.mark.parametrize("key_type", ["rsa2048", "p256"])
def test_keygen_writes_a_signing_key_and_shows_only_its_fingerprint(
    tmp_path: Path, key_type: str
) -> None:
    path = tmp_path / "payerfsp.key"
    code, output = jws("keygen", path, "--type", key_type)
    assert code == 0, output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "PRIVATE" not in output
    signer = JwsSigner(path.read_bytes())
    public = tmp_path / "payerfsp.key.pub.pem"
    assert _fingerprint(public) == signer.fingerprint
    assert signer.fingerprint in output
    assert signer.algorithm == ("RS256" if key_type == "rsa2048" else "ES256")


def test_keygen_refuses_a_key_jws_cannot_use_and_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "payerfsp.key"
    assert jws("keygen", path, "--type", "p384")[0] == 2
    assert not path.exists()
    assert jws("keygen", path)[0] == 0
    before = path.read_bytes()
    code, output = jws("keygen", path)
    assert code == 2 and "cannot write" in output
    assert path.read_bytes() == before


def test_rotate_publishes_first_and_status_shows_the_states(tmp_path: Path) -> None:
    key = tmp_path / "payerfsp.key"
    assert jws("keygen", key)[0] == 0
    code, output = jws("status", "--key", key)
    assert code == 0 and "no rotation yet" in output
    publish = tmp_path / "publish"
    code, output = jws(
        "rotate", "--key", key, "--publish", publish, "--fsp", "payerfsp",
        "--overlap", "3600", "--grace", "0", "--type", "p256",
    )  # fmt: skip
    assert code == 0, output
    ring = KeyRing.read(ring_path(key))
    old, new = ring.keys
    published = [
        key_fingerprint(k) for k in load_public_keys((publish / "payerfsp.pem").read_bytes())
    ]
    assert published == [old.fingerprint, new.fingerprint]
    assert new.fingerprint in output and str(publish / "payerfsp.pem") in output
    assert stat.S_IMODE((tmp_path / new.private_key).stat().st_mode) == 0o600

    code, output = jws("status", "--key", key)
    lines = output.splitlines()
    assert lines[0].startswith("active") and old.fingerprint in lines[0]
    assert lines[1].startswith("published") and new.fingerprint in lines[1]

    code, output = jws(
        "rotate", "--key", key, "--fsp", "payerfsp", "--overlap", "0", "--grace", "0"
    )
    assert code == 2 and "already under way" in output
    assert len(KeyRing.read(ring_path(key)).keys) == 2


def test_publish_drops_retired_keys(tmp_path: Path) -> None:
    key = tmp_path / "payerfsp.key"
    publish = tmp_path / "publish"
    assert jws("keygen", key)[0] == 0
    args = ("--key", key, "--publish", publish, "--fsp", "payerfsp")
    assert jws("rotate", *args, "--overlap", "0", "--grace", "1")[0] == 0
    old, new = KeyRing.read(ring_path(key)).keys
    assert len(load_public_keys((publish / "payerfsp.pem").read_bytes())) == 2
    assert old.retires_at is not None
    time.sleep(max(0.0, old.retires_at.timestamp() - time.time()) + 0.05)
    assert jws("status", "--key", key)[1].startswith("retired")
    assert jws("publish", *args)[0] == 0
    assert _fingerprint(publish / "payerfsp.pem") == new.fingerprint


def test_rotate_takes_its_defaults_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "payerfsp.key"
    assert jws("keygen", key)[0] == 0
    monkeypatch.setenv("PM4ML_JWS_SIGNING_KEY_PATH", str(key))
    monkeypatch.setenv("PM4ML_JWS_PUBLISH_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("PM4ML_DFSP_ID", "payerfsp")
    monkeypatch.setenv("PM4ML_JWS_ROTATION_OVERLAP_SECONDS", "120")
    monkeypatch.setenv("PM4ML_JWS_ROTATION_GRACE_SECONDS", "60")
    code, output = jws("rotate")
    assert code == 0, output
    old, new = KeyRing.read(ring_path(key)).keys
    # From the moment the ring is written, rounded up to a whole second.
    assert 120 <= (new.activates_at - new.created).total_seconds() <= 122
    assert old.retires_at is not None
    assert (old.retires_at - new.activates_at).total_seconds() == 60
    assert (tmp_path / "out" / "payerfsp.pem").is_file()


def test_rotate_without_a_key_says_which_setting_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PM4ML_JWS_SIGNING_KEY_PATH", raising=False)
    code, output = jws("rotate")
    assert code == 2 and "PM4ML_JWS_SIGNING_KEY_PATH" in output


def _peer_key(tmp_path: Path, name: str, key_type: KeyType = "rsa2048") -> tuple[Path, Path]:
    key = generate(key_type)
    private = tmp_path / f"{name}.key"
    write_private_key(key, private)
    public = tmp_path / f"{name}.pub.pem"
    public.write_bytes(public_pem(key))
    return private, public


def test_peers_add_list_remove(tmp_path: Path) -> None:
    peers = tmp_path / "peers"
    _, first = _peer_key(tmp_path, "first")
    private, second = _peer_key(tmp_path, "second", "p256")
    code, output = jws("peers", "add", "payeefsp", first, "--dir", peers)
    assert code == 0, output
    assert _fingerprint(first) in output
    assert jws("peers", "add", "payeefsp", second, "--dir", peers)[0] == 0
    assert len(load_public_keys((peers / "payeefsp.pem").read_bytes())) == 2

    code, output = jws("peers", "add", "payeefsp", first, "--dir", peers)
    assert code == 2 and "already a key of payeefsp" in output
    # A bundle (what a rotating peer publishes) adds only what is new.
    bundle = tmp_path / "bundle.pem"
    _, third = _peer_key(tmp_path, "third")
    bundle.write_bytes(first.read_bytes() + third.read_bytes())
    code, output = jws("peers", "add", "payeefsp", bundle, "--dir", peers)
    assert code == 0 and _fingerprint(third) in output and _fingerprint(first) not in output
    assert (
        jws("peers", "remove", "payeefsp", "--fingerprint", _fingerprint(third), "--dir", peers)[0]
        == 0
    )
    code, output = jws("peers", "add", "payeefsp", private, "--dir", peers)
    assert code == 2 and "PRIVATE KEY PEM block is not a public key" in output
    assert "BEGIN" not in output
    assert jws("peers", "add", "../evil", first, "--dir", peers)[0] == 2
    assert len(load_public_keys((peers / "payeefsp.pem").read_bytes())) == 2

    code, output = jws(
        "peers", "remove", "payeefsp", "--fingerprint", _fingerprint(first), "--dir", peers
    )
    assert code == 0, output
    code, output = jws("peers", "list", "--dir", peers)
    assert code == 0
    lines = [line.split() for line in output.splitlines()]
    assert lines == [
        ["payeefsp", "ES256", _fingerprint(second), "active"],
        ["payeefsp", "RS256", _fingerprint(third), "retired"],
        ["payeefsp", "RS256", _fingerprint(first), "retired"],
    ]
    code, output = jws(
        "peers", "remove", "payeefsp", "--fingerprint", _fingerprint(first), "--dir", peers
    )
    assert code == 2 and "no active key" in output

    # Trusted again: no longer listed as retired.
    assert jws("peers", "add", "payeefsp", first, "--dir", peers)[0] == 0
    assert jws("peers", "remove", "payeefsp", "--dir", peers)[0] == 0
    assert not (peers / "payeefsp.pem").exists()
    states = [line.split()[-1] for line in jws("peers", "list", "--dir", peers)[1].splitlines()]
    assert states == ["retired", "retired", "retired"]


def test_peers_use_the_configured_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, public = _peer_key(tmp_path, "peer")
    monkeypatch.setenv("PM4ML_JWS_VERIFICATION_KEYS_DIR", str(tmp_path / "configured"))
    assert jws("peers", "add", "payeefsp", public)[0] == 0
    assert (tmp_path / "configured" / "payeefsp.pem").is_file()


def _sample(tmp_path: Path, private: Path, source: str, body: object) -> Path:
    raw = canonical.dumps(body)
    headers = {
        "Content-Type": "application/vnd.interoperability.transfers+json;version=1.1",
        "Date": "Mon, 23 Nov 2026 10:00:00 GMT",
        "FSPIOP-Source": source,
        "FSPIOP-Destination": "payerfsp",
    }
    signer = JwsSigner(private.read_bytes())
    headers |= signer.sign(method="PUT", url="http://h/transfers/1", headers=headers, body=raw)
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"method": "PUT", "headers": headers, "body": body}))
    return path


def test_peers_verify_a_key_and_a_sample_request(tmp_path: Path) -> None:
    peers = tmp_path / "peers"
    private, public = _peer_key(tmp_path, "peer")
    other_private, other_public = _peer_key(tmp_path, "other")
    assert jws("peers", "add", "payeefsp", public, "--dir", peers)[0] == 0

    code, output = jws("peers", "verify", "payeefsp", "--key", public, "--dir", peers)
    assert code == 0 and "active" in output
    code, output = jws(
        "peers", "verify", "payeefsp", "--fingerprint", _fingerprint(other_public), "--dir", peers
    )
    assert code == 2 and "NOT ACCEPTED" in output

    body = {"transferState": "COMMITTED", "completedTimestamp": "2026-11-23T10:00:00.000Z"}
    sample = _sample(tmp_path, private, "payeefsp", body)
    code, output = jws("peers", "verify", "payeefsp", "--request", sample, "--dir", peers)
    assert code == 0 and "signature valid" in output, output

    forged = _sample(tmp_path, other_private, "payeefsp", body)
    code, output = jws("peers", "verify", "payeefsp", "--request", forged, "--dir", peers)
    assert code == 2 and "INVALID 3105" in output

    data = json.loads(sample.read_text())
    data["body"]["transferState"] = "ABORTED"
    sample.write_text(json.dumps(data))
    assert jws("peers", "verify", "payeefsp", "--request", sample, "--dir", peers)[0] == 2

    junk = tmp_path / "junk.json"
    junk.write_text("[]")
    code, output = jws("peers", "verify", "payeefsp", "--request", junk, "--dir", peers)
    assert code == 2 and "UNREADABLE" in output
    assert jws("peers", "verify", "payeefsp", "--dir", peers)[0] == 2


def test_a_published_file_is_what_peers_add(tmp_path: Path) -> None:
    """The rotation's published <fspId>.pem is added as is at the peer: both keys at once."""
    key = tmp_path / "payerfsp.key"
    assert jws("keygen", key)[0] == 0
    args = ("--key", key, "--publish", tmp_path / "pub", "--fsp", "payerfsp")
    assert jws("rotate", *args, "--overlap", "60", "--grace", "60")[0] == 0
    peers = tmp_path / "peers"
    original = tmp_path / "payerfsp.key.pub.pem"
    assert jws("peers", "add", "payerfsp", original, "--dir", peers)[0] == 0
    new_public = tmp_path / KeyRing.read(ring_path(key)).keys[1].public_key
    assert jws("peers", "add", "payerfsp", new_public, "--dir", peers)[0] == 0
    listed = jws("peers", "list", "--dir", peers)[1]
    assert listed.count("active") == 2
