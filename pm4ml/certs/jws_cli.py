"""``pm4ml certs jws``: the DFSP's signing keys (keygen, rotate, status, publish) and its
peers' verification keys (``peers add/list/remove/verify``).

Options left out are taken from the settings (``PM4ML_JWS_SIGNING_KEY_PATH``,
``PM4ML_JWS_VERIFICATION_KEYS_DIR``, ``PM4ML_JWS_PUBLISH_DIR``, ``PM4ML_DFSP_ID``,
``PM4ML_JWS_ROTATION_OVERLAP_SECONDS``, ``PM4ML_JWS_ROTATION_GRACE_SECONDS``). Exit codes:
0 done, 2 refused or invalid. Private keys are written 0600 and never printed.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Annotated, TypeVar, cast

import typer
from rich.console import Console

from pm4ml.certs.jws_peers import PeerKeys
from pm4ml.certs.jws_rotation import JWS_KEY_TYPES, publish, rotate
from pm4ml.certs.keys import KeyType, generate, public_pem, write_private_key
from pm4ml.config import ConfigError, Settings, load_settings
from pm4ml.fspiop import canonical
from pm4ml.fspiop.errors import FspiopError
from pm4ml.fspiop.jws import JwsVerifier, key_fingerprint, load_public_keys
from pm4ml.fspiop.jws_ring import KeyRing, load_ring

EXIT_INVALID = 2
T = TypeVar("T")

jws_app = typer.Typer(help="JWS signing keys and peers' verification keys.", no_args_is_help=True)
peers_app = typer.Typer(help="Peers' JWS public keys (the verification-keys directory).")
jws_app.add_typer(peers_app, name="peers", no_args_is_help=True)
# soft_wrap: fingerprints and paths stay on one line, for scripts and copy-paste; no markup,
# so a path or an error message is printed as it is.
_out = Console(highlight=False, soft_wrap=True, markup=False)


def _fail(message: str) -> typer.Exit:
    _out.print(message, style="red")
    return typer.Exit(EXIT_INVALID)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _required(value: T | None, setting: str, option: str) -> T:
    if value is None:
        raise _fail(f"give {option} or set {setting}")
    return value


def _signing_key(key: Path | None) -> Path:
    found = key if key is not None else _settings().jws_signing_key_path
    return _required(found, "PM4ML_JWS_SIGNING_KEY_PATH", "--key")


def _peers(directory: Path | None) -> PeerKeys:
    found = directory if directory is not None else _settings().jws_verification_keys_dir
    return PeerKeys(_required(found, "PM4ML_JWS_VERIFICATION_KEYS_DIR", "--dir"))


@jws_app.command("keygen")
def keygen_command(
    path: Annotated[Path, typer.Argument(help="Where to write the private signing key (PEM).")],
    key_type: Annotated[
        str, typer.Option("--type", help=f"One of: {', '.join(JWS_KEY_TYPES)}.")
    ] = "rsa2048",
) -> None:
    """Generate a JWS signing key (0600, never overwritten) and <path>.pub.pem beside it."""
    if key_type not in JWS_KEY_TYPES:
        raise _fail(f"{key_type!r} cannot sign JWS; use one of {', '.join(JWS_KEY_TYPES)}")
    key = generate(key_type)
    public_path = path.with_name(path.name + ".pub.pem")
    try:
        write_private_key(key, path)
    except OSError as exc:
        raise _fail(f"cannot write {path}: {exc}") from None
    public_path.write_bytes(public_pem(key))
    _out.print(f"private key: {path} (0600)")
    _out.print(f"public key:  {public_path} (give it to the hub and peers)")
    _out.print(f"fingerprint: {key_fingerprint(key.public_key())}")


@jws_app.command("rotate")
def rotate_command(
    key: Annotated[Path | None, typer.Option(help="The configured signing key.")] = None,
    publish_dir: Annotated[
        Path | None, typer.Option("--publish", help="Where <fspId>.pem is published.")
    ] = None,
    fsp_id: Annotated[str | None, typer.Option("--fsp", help="This DFSP's id.")] = None,
    overlap: Annotated[
        float | None, typer.Option(min=0, help="Seconds the new key is published before use.")
    ] = None,
    grace: Annotated[
        float | None, typer.Option(min=0, help="Seconds the old key stays valid after.")
    ] = None,
    key_type: Annotated[str, typer.Option("--type", help="Type of the new key.")] = "rsa2048",
) -> None:
    """Start a rotation: generate the new key and publish its public key now; signing switches
    to it after OVERLAP seconds (a running server follows, no restart); the old key retires
    GRACE seconds after the switch."""
    signing_key = _signing_key(key)
    settings = None
    if publish_dir is None or fsp_id is None or overlap is None or grace is None:
        settings = _settings()
    if settings is not None:
        publish_dir = publish_dir or settings.jws_publish_dir
        fsp_id = fsp_id or settings.dfsp_id
        overlap = settings.jws_rotation_overlap_seconds if overlap is None else overlap
        grace = settings.jws_rotation_grace_seconds if grace is None else grace
    assert overlap is not None and grace is not None
    try:
        done = rotate(
            signing_key,
            key_type=cast(KeyType, key_type),
            overlap=datetime.timedelta(seconds=overlap),
            grace=datetime.timedelta(seconds=grace),
            publish_to=None if publish_dir is None or fsp_id is None else (publish_dir, fsp_id),
        )
    except (OSError, ValueError) as exc:
        raise _fail(f"rotation not started: {exc}") from None
    _out.print(f"new key:     {done.new.fingerprint} ({done.new.algorithm}, {done.new.public_key})")
    if done.published is not None:
        _out.print(f"published:   {done.published} (the old and the new public key)")
    else:
        _out.print("published:   nowhere (no --publish): send the new public key to peers now")
    _out.print(f"signs from:  {done.new.activates_at.isoformat()}")
    _out.print(f"old key:     {done.old.fingerprint} retires {_when(done.old.retires_at)}")


def _when(at: datetime.datetime | None) -> str:
    return "never" if at is None else at.isoformat()


@jws_app.command("status")
def status_command(
    key: Annotated[Path | None, typer.Option(help="The configured signing key.")] = None,
) -> None:
    """The keys of the signing ring and their state now (published, active, retiring,
    retired)."""
    signing_key = _signing_key(key)
    try:
        ring = load_ring(signing_key)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if ring is None:
        _out.print(f"no rotation yet: {signing_key} signs everything")
        return
    now = datetime.datetime.now(datetime.UTC)
    for entry in ring.keys:
        _out.print(
            f"{ring.state(entry, now):<9} {entry.algorithm} {entry.fingerprint} "
            f"from {entry.activates_at.isoformat()} retires {_when(entry.retires_at)} "
            f"({entry.private_key})"
        )


@jws_app.command("publish")
def publish_command(
    key: Annotated[Path | None, typer.Option(help="The configured signing key.")] = None,
    publish_dir: Annotated[
        Path | None, typer.Option("--publish", help="Where <fspId>.pem is published.")
    ] = None,
    fsp_id: Annotated[str | None, typer.Option("--fsp", help="This DFSP's id.")] = None,
) -> None:
    """Rewrite the published <fspId>.pem with the keys peers must accept now (after the grace
    period this drops the retired key)."""
    signing_key = _signing_key(key)
    if publish_dir is None or fsp_id is None:
        settings = _settings()
        publish_dir = publish_dir or settings.jws_publish_dir
        fsp_id = fsp_id or settings.dfsp_id
    directory = _required(publish_dir, "PM4ML_JWS_PUBLISH_DIR", "--publish")
    now = datetime.datetime.now(datetime.UTC)
    try:
        ring: KeyRing | None = load_ring(signing_key)
        target = publish(signing_key, ring, directory, fsp_id, now)
    except (OSError, ValueError) as exc:
        raise _fail(f"not published: {exc}") from None
    _out.print(f"published:   {target}")


@peers_app.command("add")
def peers_add_command(
    fsp_id: Annotated[str, typer.Argument(help="The peer's FSP id.")],
    pem: Annotated[Path, typer.Argument(help="The peer's public key(s), PEM.")],
    directory: Annotated[Path | None, typer.Option("--dir", help="Verification keys.")] = None,
) -> None:
    """Accept a peer's public key (in addition to its others: both verify during its
    rotation). Refuses private keys and keys already present."""
    peers = _peers(directory)
    try:
        added = peers.add(fsp_id, pem.read_bytes())
    except OSError as exc:
        raise _fail(f"cannot read {pem}: {exc.strerror}") from None
    except ValueError as exc:
        raise _fail(f"not added: {exc}") from None
    for fingerprint in added:
        _out.print(f"added:       {fsp_id} {fingerprint}")


@peers_app.command("list")
def peers_list_command(
    directory: Annotated[Path | None, typer.Option("--dir", help="Verification keys.")] = None,
) -> None:
    """Every peer key: FSP id, algorithm, fingerprint, state (active or retired)."""
    try:
        keys = _peers(directory).keys()
    except ValueError as exc:
        raise _fail(str(exc)) from None
    for key in keys:
        _out.print(f"{key.fsp_id:<32} {key.algorithm} {key.fingerprint} {key.state}")


@peers_app.command("remove")
def peers_remove_command(
    fsp_id: Annotated[str, typer.Argument(help="The peer's FSP id.")],
    fingerprint: Annotated[
        str | None, typer.Option(help="Retire only this key (default: all of the peer's).")
    ] = None,
    directory: Annotated[Path | None, typer.Option("--dir", help="Verification keys.")] = None,
) -> None:
    """Retire a peer's key (or all its keys): refused from the next second on, kept under
    retired/ for the record."""
    try:
        retired = _peers(directory).remove(fsp_id, fingerprint)
    except ValueError as exc:
        raise _fail(f"nothing retired: {exc}") from None
    for found in retired:
        _out.print(f"retired:     {fsp_id} {found}")


@peers_app.command("verify")
def peers_verify_command(
    fsp_id: Annotated[str, typer.Argument(help="The peer's FSP id.")],
    key_file: Annotated[
        Path | None, typer.Option("--key", help="Is this public key accepted from the peer?")
    ] = None,
    fingerprint: Annotated[
        str | None, typer.Option(help="Is the key with this fingerprint accepted?")
    ] = None,
    request: Annotated[
        Path | None,
        typer.Option(help="A signed request (JSON: method, headers, body) to verify."),
    ] = None,
    directory: Annotated[Path | None, typer.Option("--dir", help="Verification keys.")] = None,
) -> None:
    """Check what the inbound server would do: that a key (by file or fingerprint) is among
    the peer's active keys, and/or that a sample request from the peer verifies. Exit 0 when
    all given checks pass, 2 otherwise."""
    peers = _peers(directory)
    try:
        active = {key_fingerprint(key) for key in peers.active(fsp_id)}
        wanted = [fingerprint] if fingerprint else []
        if key_file is not None:
            wanted += [key_fingerprint(key) for key in load_public_keys(key_file.read_bytes())]
    except OSError as exc:
        raise _fail(f"cannot read {exc.filename}: {exc.strerror}") from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if not wanted and request is None:
        raise _fail("give --key, --fingerprint or --request")
    ok = True
    for found in wanted:
        accepted = found in active
        ok = ok and accepted
        _out.print(f"{found}: {'active' if accepted else 'NOT ACCEPTED'} for {fsp_id}")
    if request is not None:
        problem = _verify_request(peers, fsp_id, request)
        ok = ok and problem is None
        _out.print(f"{request}: {'signature valid' if problem is None else problem}")
    if not ok:
        raise typer.Exit(EXIT_INVALID)


def _verify_request(peers: PeerKeys, fsp_id: str, path: Path) -> str | None:
    """None when the request verifies with ``fsp_id``'s keys, else why not. The file holds
    ``{"method": ..., "headers": {...}, "body": ...}``; a string body is taken as the exact
    bytes sent, any other JSON value as its canonical serialisation (what pm4ml sends)."""
    try:
        sample = json.loads(path.read_bytes())
        method, headers, body = sample["method"], sample["headers"], sample["body"]
        if not isinstance(method, str) or not isinstance(headers, dict):
            raise TypeError("method must be a string and headers an object")
    except OSError as exc:
        return f"UNREADABLE {exc.strerror}"
    except (ValueError, KeyError, TypeError) as exc:
        return f"UNREADABLE not a sample request file ({exc})"
    source = {name.lower(): value for name, value in headers.items()}.get("fspiop-source")
    if source != fsp_id:
        return f"INVALID FSPIOP-Source is {source!r}, not {fsp_id!r}"
    raw = body.encode() if isinstance(body, str) else canonical.dumps(body)
    try:
        verifier = JwsVerifier({fsp_id: peers.active(fsp_id)})
        verifier.verify(method=method, headers=headers, body=raw)
    except FspiopError as exc:
        return f"INVALID {exc.code_text} {exc.description}"
    except ValueError as exc:
        return f"INVALID {exc}"
    return None
