"""TLS for the sandbox: a local CA and a certificate for 127.0.0.1, made once per state folder.

The sandbox serves HTTPS like AWS does, so TLS-only bucket policies hold there too, and clients
verify it against this CA (boto3 ``verify=``, Terraform ``AWS_CA_BUNDLE``) instead of turning
verification off. The CA's private key never leaves the state folder (mode 0600).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

TLS_DIR = "tls"
VALID_DAYS = 3650
RENEW_BEFORE_DAYS = 30


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def files(state_dir: Path) -> TlsFiles:
    folder = Path(state_dir) / TLS_DIR
    return TlsFiles(ca=folder / "ca.pem", cert=folder / "server.pem", key=folder / "server-key.pem")


def ensure(state_dir: Path, host: str = "127.0.0.1") -> TlsFiles:
    """The CA and server certificate, created (or renewed near expiry) when needed."""
    paths = files(state_dir)
    if all(p.is_file() for p in (paths.ca, paths.cert, paths.key)) and not _expiring(paths.cert):
        return paths
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    until = now + dt.timedelta(days=VALID_DAYS)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "platform-kit sandbox CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(until)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths.ca.parent.mkdir(parents=True, exist_ok=True)
    _write(
        paths.key,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        private=True,
    )
    _write(paths.cert, cert.public_bytes(serialization.Encoding.PEM))
    _write(paths.ca, ca_cert.public_bytes(serialization.Encoding.PEM))
    return paths


def ssl_context(ca: Path | None):
    """An SSL context that trusts the sandbox CA (or the system's when ``ca`` is None)."""
    import ssl

    return ssl.create_default_context(cafile=str(ca) if ca else None)


def _expiring(cert_path: Path) -> bool:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError:
        return True
    return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) < dt.timedelta(days=RENEW_BEFORE_DAYS)


def _write(path: Path, data: bytes, private: bool = False) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
