"""TLS for the MySQL protocol: the server's certificate and key, as MySQL 8 does it.

With `--ssl-cert`/`--ssl-key` (AUGURDB_SSL_CERT / AUGURDB_SSL_KEY) the server uses that pair;
without, it makes a self-signed pair once in <data_dir>/tls/ (the key readable by its owner only)
and uses it from then on. Clients choose: `mariadb --ssl`, pymysql's `ssl=...`, mysql-connector's
default. `AUGURDB_SSL=false` turns TLS off. `AUGURDB_HTTP_TLS=true` serves HTTPS with the same pair.
"""

from __future__ import annotations

import datetime
import os
import socket
import ssl
from pathlib import Path


def server_pair(data_dir: Path, cert: Path | None, key: Path | None) -> tuple[Path, Path]:
    """The certificate and key to serve: the given pair, or the data directory's own."""
    if (cert is None) != (key is None):
        raise SystemExit("augurdb: give both --ssl-cert and --ssl-key, or neither (a self-signed pair is made)")
    return (cert, key) if cert is not None and key is not None else self_signed_pair(data_dir / "tls")


def server_context(data_dir: Path, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    """The TLS context MySQL clients are offered."""
    cert, key = server_pair(data_dir, cert, key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        raise SystemExit(f"augurdb: cannot use the TLS certificate {cert} with key {key}: {error}") from None
    return context


def self_signed_pair(directory: Path) -> tuple[Path, Path]:
    """server-cert.pem and server-key.pem in `directory`, made on first use (valid ten years)."""
    cert, key = directory / "server-cert.pem", directory / "server-key.pem"
    if cert.exists() and key.exists():
        return cert, key
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"augurdb on {socket.gethostname()}")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=3650))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                   .sign(private, hashes.SHA256()))
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert, key
