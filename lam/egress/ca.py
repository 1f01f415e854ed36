"""The run's own certificate authority: made fresh for each run, trusted by that run's browser
alone, thrown away with the run.

The guard proxy reads HTTPS by presenting certificates it signs with this CA. Chromium is told
to accept exactly this key (``--ignore-certificate-errors-spki-list``, the base64 SHA-256 of
the CA's SubjectPublicKeyInfo; the proxy signs every leaf with the CA's own key, so the leaf
carries the same key), and nothing is added to any system or user trust store.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

__all__ = ["RunCA", "make_run_ca"]

BASENAME = "mitmproxy"  # the file names the proxy looks for in its confdir


@dataclass(frozen=True)
class RunCA:
    """A per-run CA in ``confdir``: the PEM of its certificate and its key's SPKI pin."""

    confdir: Path
    cert_pem: Path
    spki_sha256: str  # base64, as Chromium's --ignore-certificate-errors-spki-list wants it


def make_run_ca(confdir: Path) -> RunCA:
    """Create a CA in ``confdir`` (the proxy's configuration folder) and return its pin."""
    from mitmproxy.certs import CertStore

    CertStore.create_store(confdir, BASENAME, 2048)
    key_and_cert = (confdir / f"{BASENAME}-ca.pem").read_bytes()
    cert = x509.load_pem_x509_certificates(key_and_cert)[0]
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = confdir / f"{BASENAME}-ca-cert.pem"
    if not pem.exists():
        pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pin = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    return RunCA(confdir, pem, pin)
