"""``pm4ml certs``: inspect certificates and check them for cron jobs and probes.

``check`` exit codes: 0 every certificate verifies and is valid for more than ``--days``;
1 one expires within ``--days`` (or has expired); 2 one is unreadable or its chain does not
verify against ``--ca`` (2 wins over 1).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from rich.console import Console

from pm4ml.certs.authority import build_dev_ca, sign_csr
from pm4ml.certs.csr import build_csr
from pm4ml.certs.inspect import describe, load_certificate, verify_against
from pm4ml.certs.jws_cli import jws_app
from pm4ml.certs.keys import (
    KEY_TYPES,
    generate,
    public_fingerprint,
    public_pem,
    write_private_key,
)
from pm4ml.config import ConfigError, load_settings

EXIT_EXPIRING = 1
EXIT_INVALID = 2

certs_app = typer.Typer(
    help="TLS keys and certificates (keygen, csr, sign, inspect, check) and JWS keys (jws).",
    no_args_is_help=True,
)
certs_app.add_typer(jws_app, name="jws")
_out = Console(highlight=False)


@certs_app.command("keygen")
def keygen_command(
    path: Annotated[Path, typer.Argument(help="Where to write the private key (PEM).")],
    key_type: Annotated[
        str, typer.Option("--type", help=f"One of: {', '.join(KEY_TYPES)}.")
    ] = "p256",
) -> None:
    """Generate a private key, written 0600 (never overwritten, never printed), and its
    public key next to it as <path>.pub.pem."""
    if key_type not in KEY_TYPES:
        _out.print(f"[red]unknown key type {key_type!r}[/red]; use one of {', '.join(KEY_TYPES)}")
        raise typer.Exit(EXIT_INVALID)
    key = generate(key_type)
    public_path = path.with_name(path.name + ".pub.pem")
    try:
        write_private_key(key, path)
    except OSError as exc:
        _out.print(f"[red]cannot write {path}:[/red] {exc}")
        raise typer.Exit(EXIT_INVALID) from None
    public_path.write_bytes(public_pem(key))
    _out.print(f"private key: {path} (0600)")
    _out.print(f"public key:  {public_path}")
    _out.print(f"SHA-256:     {public_fingerprint(key)}")


@certs_app.command("csr")
def csr_command(
    key_path: Annotated[Path, typer.Argument(help="Private key (PEM) the CSR is for.")],
    out: Annotated[Path, typer.Argument(help="Where to write the CSR (PEM).")],
    common_name: Annotated[
        str | None, typer.Option("--cn", help="Subject CN [PM4ML_CERT_SUBJECT_CN].")
    ] = None,
    san: Annotated[
        list[str] | None, typer.Option(help="A SAN (DNS name or IP); repeat [PM4ML_CERT_SANS].")
    ] = None,
    profile: Annotated[str, typer.Option(help="client or server.")] = "client",
    organization: Annotated[
        str | None, typer.Option("--org", help="Subject O [PM4ML_CERT_SUBJECT_ORG].")
    ] = None,
) -> None:
    """Write a CSR for KEY_PATH, to send to the hub operator (or sign with a CA). Subject and
    SANs not given as options come from the settings."""
    if profile not in ("client", "server"):
        _out.print(f"[red]unknown profile {profile!r}[/red]; use client or server")
        raise typer.Exit(EXIT_INVALID)
    if common_name is None or organization is None or not san:
        try:
            settings = load_settings()
        except ConfigError as exc:
            _out.print(f"[red]{exc}[/red]")
            raise typer.Exit(EXIT_INVALID) from None
        common_name = common_name or settings.cert_subject_cn
        organization = organization or settings.cert_subject_org
        if not san and settings.cert_sans:
            san = [part.strip() for part in settings.cert_sans.split(",") if part.strip()]
    if not common_name:
        _out.print("[red]give --cn or set PM4ML_CERT_SUBJECT_CN[/red]")
        raise typer.Exit(EXIT_INVALID)
    key = _private_key(key_path)
    try:
        csr = build_csr(key, common_name, san or [], profile, organization)  # type: ignore[arg-type]
    except ValueError as exc:
        _out.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_INVALID) from None
    out.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    _out.print(f"CSR written to {out}: {csr.subject.rfc4514_string()} ({profile})")


def _private_key(path: Path) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), None)
    except (OSError, ValueError, TypeError) as exc:
        _out.print(f"[red]cannot read the private key {path}:[/red] {exc}")
        raise typer.Exit(EXIT_INVALID) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        _out.print("[red]only RSA and EC keys are supported[/red]")
        raise typer.Exit(EXIT_INVALID)
    return key


@certs_app.command("init-ca")
def init_ca_command(
    directory: Annotated[Path, typer.Argument(help="Directory for ca.key and ca.pem.")],
    name: Annotated[str, typer.Option(help="CA common name.")] = "pm4ml dev CA",
    days: Annotated[int, typer.Option(min=1, help="Validity in days.")] = 365,
) -> None:
    """Create a DEVELOPMENT CA (labelled so in its subject) for demos and tests."""
    directory.mkdir(parents=True, exist_ok=True)
    key = generate("p256")
    try:
        write_private_key(key, directory / "ca.key")
    except OSError as exc:
        _out.print(f"[red]cannot write {directory / 'ca.key'}:[/red] {exc}")
        raise typer.Exit(EXIT_INVALID) from None
    cert = build_dev_ca(key, name, days)
    (directory / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _out.print(f"development CA (not for production): {directory / 'ca.pem'}")


@certs_app.command("sign")
def sign_command(
    csr_path: Annotated[Path, typer.Argument(help="CSR to sign (PEM).")],
    out: Annotated[Path, typer.Argument(help="Where to write the certificate (PEM).")],
    ca_cert_path: Annotated[Path, typer.Option("--ca", help="CA certificate (PEM).")],
    ca_key_path: Annotated[Path, typer.Option("--ca-key", help="CA private key (PEM).")],
    days: Annotated[int, typer.Option(min=1, help="Validity in days.")] = 365,
) -> None:
    """Sign a CSR with a CA (the dev CA, or the DFSP's CA for the hub's CSR)."""
    ca_key = _private_key(ca_key_path)
    try:
        csr = x509.load_pem_x509_csr(csr_path.read_bytes())
        ca_cert = load_certificate(ca_cert_path)
        cert = sign_csr(csr, ca_cert, ca_key, days)
    except (OSError, ValueError) as exc:
        _out.print(f"[red]cannot sign:[/red] {exc}")
        raise typer.Exit(EXIT_INVALID) from None
    out.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _out.print(f"certificate written to {out}: {cert.subject.rfc4514_string()}")


@certs_app.command("inspect")
def inspect_command(
    path: Annotated[Path, typer.Argument(help="PEM certificate file.")],
    ca: Annotated[Path | None, typer.Option(help="CA bundle to verify the chain.")] = None,
) -> None:
    """Show subject, SANs, issuer, validity, key type, fingerprint and chain verification."""
    try:
        certificate = load_certificate(path)
    except (OSError, ValueError) as exc:
        _out.print(f"[red]cannot read {path}:[/red] {exc}")
        raise typer.Exit(EXIT_INVALID) from None
    info = describe(certificate)
    _out.print(f"subject:     {info.subject}")
    _out.print(f"SANs:        {', '.join(info.sans) or '-'}")
    _out.print(f"issuer:      {info.issuer}")
    _out.print(f"valid:       {info.not_before.isoformat()} .. {info.not_after.isoformat()}")
    _out.print(f"key:         {info.key_type}")
    _out.print(f"SHA-256:     {info.fingerprint_sha256}")
    if ca is not None:
        problem = verify_against(certificate, ca)
        _out.print(f"chain:       {'verified against ' + str(ca) if problem is None else problem}")
        if problem is not None:
            raise typer.Exit(EXIT_INVALID)


@certs_app.command("check")
def check_command(
    paths: Annotated[list[Path], typer.Argument(help="PEM certificate files to check.")],
    days: Annotated[int, typer.Option(min=0, help="Fail when expiring within this.")] = 30,
    ca: Annotated[Path | None, typer.Option(help="CA bundle every file must chain to.")] = None,
) -> None:
    """Exit 0 when all are fine, 1 when one expires within DAYS, 2 when one is unreadable or
    does not verify against the CA bundle."""
    now = datetime.datetime.now(datetime.UTC)
    code = 0
    for path in paths:
        try:
            certificate = load_certificate(path)
            problem = None
            if ca is not None:
                # Expiry is reported separately (exit 1), so only the issuer is checked here.
                problem = verify_against(certificate, ca, now, check_validity=False)
        except (OSError, ValueError) as exc:
            _out.print(f"{path}: UNREADABLE {exc}")
            code = EXIT_INVALID
            continue
        if problem is not None:
            _out.print(f"{path}: INVALID {problem}")
            code = EXIT_INVALID
            continue
        left = certificate.not_valid_after_utc - now
        if left <= datetime.timedelta(days=days):
            _out.print(f"{path}: EXPIRING in {left.total_seconds() / 86400:.1f} days")
            code = max(code, EXIT_EXPIRING)
        else:
            _out.print(f"{path}: OK, {left.days} days left")
    raise typer.Exit(code)
