"""The operator key: one Ed25519 key per user that signs every run record and ledger entry.

It lives in the user's config directory (``$LAM_CONFIG_DIR`` wins over
``platformdirs.user_config_dir("lam")``), never in a run folder: ``operator.key`` (PKCS#8 PEM,
mode 0600, in a folder of mode 0700). It is created on first use. A key file that others may
read or write is refused rather than used: a key others can read signs nothing of weight.

A key is named by its *key id*: the first 16 hex digits of the SHA-256 of the raw 32-byte
public key. The public key is written ``ed25519:BASE64`` (the raw bytes, standard base64).
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from lam.errors import LamError, UsageError

__all__ = [
    "KEY_FILE",
    "EvidenceError",
    "OperatorKey",
    "PublicKey",
    "config_dir",
    "load_operator_key",
    "parse_public_key",
]

KEY_FILE = "operator.key"
_PREFIX = "ed25519:"


class EvidenceError(LamError):
    """The operator key or the ledger cannot be created, read or trusted."""


def config_dir() -> Path:
    """Where the operator key and the ledger live: ``$LAM_CONFIG_DIR`` or the user config dir."""
    override = os.environ.get("LAM_CONFIG_DIR")
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("lam"))


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key that checks signatures."""

    raw: bytes

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()[:16]

    @property
    def text(self) -> str:
        """``ed25519:BASE64``, as ``lam key show`` prints it and ``--key`` takes it."""
        return _PREFIX + base64.b64encode(self.raw).decode()

    def verify(self, signature: str, message: bytes) -> bool:
        """Whether ``signature`` (base64) signs ``message`` under this key."""
        try:
            sig = base64.b64decode(signature, validate=True)
            Ed25519PublicKey.from_public_bytes(self.raw).verify(sig, message)
        except (InvalidSignature, ValueError, TypeError):
            return False
        return True


class OperatorKey:
    """The private key that signs; :attr:`public` is what verifiers trust."""

    def __init__(self, private: Ed25519PrivateKey, path: Path | None = None) -> None:
        self._private = private
        self.path = path
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public = PublicKey(raw)

    @classmethod
    def generate(cls) -> OperatorKey:
        """A fresh key held only in memory (tests; a forger's key)."""
        return cls(Ed25519PrivateKey.generate())

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def sign(self, message: bytes) -> str:
        """The base64 Ed25519 signature of ``message``."""
        return base64.b64encode(self._private.sign(message)).decode()


def load_operator_key(directory: Path | None = None, *, create: bool = True) -> OperatorKey:
    """The operator key from ``directory`` (default :func:`config_dir`), created when absent
    and ``create`` is true. Raises :class:`EvidenceError` when it cannot be made or trusted."""
    folder = directory or config_dir()
    path = folder / KEY_FILE
    if not path.exists():
        if not create:
            raise EvidenceError(
                f"no operator key at {path} (a run creates it; or verify an exported run, "
                "or pass --key)",
                code="no-key",
            )
        _create(folder, path)
    return _load(path)


def _create(folder: Path, path: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Written under a private name, then linked into place: two first runs at once end
        # with one key, and nobody reads a half-written one.
        # (per thread too: the runs of a batch's rows may start together in one process)
        partial = folder / f".{KEY_FILE}.{os.getpid()}.{threading.get_ident()}.part"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(partial, path)
        except FileExistsError:
            pass  # another process made it first; use theirs
        finally:
            partial.unlink(missing_ok=True)
    except OSError as exc:
        raise EvidenceError(
            f"cannot create the operator key at {path}: {exc.strerror}", code="key-create"
        ) from None


def _load(path: Path) -> OperatorKey:
    try:
        info = path.stat()
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise EvidenceError(
                f"the operator key {path} may be read or written by others "
                f"(mode {stat.S_IMODE(info.st_mode):o}); run chmod 600 on it",
                code="key-mode",
            )
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise EvidenceError(
                f"the operator key {path} belongs to another user", code="key-owner"
            )
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise EvidenceError(f"cannot read the operator key {path}: {exc.strerror}") from None
    except ValueError:
        raise EvidenceError(f"{path} is not a PEM private key", code="key-format") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise EvidenceError(f"{path} is not an Ed25519 key", code="key-format")
    return OperatorKey(private, path)


def parse_public_key(value: str) -> PublicKey:
    """A public key from ``ed25519:BASE64``, bare base64, or a file holding either (or a PEM
    public key). Raises :class:`UsageError` when it is none of these."""
    text = value.strip()
    candidate = Path(text)
    if len(text) < 4096 and candidate.is_file():
        data = candidate.read_bytes()[:65536]
        if b"BEGIN PUBLIC KEY" in data:
            try:
                loaded = serialization.load_pem_public_key(data)
            except ValueError:
                loaded = None
            if isinstance(loaded, Ed25519PublicKey):
                return PublicKey(
                    loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
                )
            raise UsageError(f"--key {value}: not an Ed25519 public key", code="bad-key")
        text = data.decode("utf-8", "replace").strip()
    if text.startswith(_PREFIX):
        text = text[len(_PREFIX) :]
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise UsageError(
            f"--key {value}: expected ed25519:BASE64 (as 'lam key show' prints it) or a file",
            code="bad-key",
        )
    return PublicKey(raw)
