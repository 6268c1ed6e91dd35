"""Checkpoints of the ledger in the C2SP `tlog-checkpoint` format, signed as C2SP `signed-note`s with Ed25519,
and the ledger's signing key.

A checkpoint is three lines, each ending in a newline: the log's origin, the tree size in decimal, the root
hash in standard base64. A signed note is that text, a blank line, and one line per signature:
"— <key name> <base64(4-byte key id || signature)>", the signature over the text with its final newline.
An Ed25519 key's id is the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public key). Keys are written
as Go's `sumdb/note` writes them: "PRIVATE+KEY+<name>+<id hex>+<base64(0x01 || seed)>" for the signer and
"<name>+<id hex>+<base64(0x01 || public key)>" for verifiers."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from infrastructure.settings import Settings

ED25519 = 0x01
DASH = "\u2014"
DEFAULT_NAME = "smart-safety-zone.ccoc/ledger"


class LedgerSettings(BaseSettings):
    """SSZ_LEDGER_KEY: the signing key (PRIVATE+KEY+...); else SSZ_LEDGER_KEY_FILE (default: ledger.key in the data
    directory), made on first run outside production. Checkpoints every so many events or seconds (when anything
    was added)."""

    model_config = SettingsConfigDict(env_prefix="SSZ_LEDGER_", env_file=".env", extra="ignore")

    key: SecretStr | None = None
    key_file: Path | None = None
    checkpoint_every_events: int = Field(default=1000, ge=1)
    checkpoint_every_seconds: float = Field(default=60.0, gt=0)


class NoteError(ValueError):
    """A note, a key or a checkpoint that is malformed, or a signature that does not verify; says which."""


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()[:4]


def _check_name(name: str) -> str:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"a key name is non-empty, without '+' or spaces: {name!r}")
    return name


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise NoteError(f"{what} is not base64") from None


@dataclass(frozen=True)
class Verifier:
    name: str
    id: bytes
    public: Ed25519PublicKey

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)  # (the base64 key itself may hold '+')
        if len(parts) != 3 or len(parts[1]) != 8:
            raise NoteError("a verifier key is <name>+<8 hex digits>+<base64 key>")
        name, hex_id, data = _check_name(parts[0]), parts[1], _b64(parts[2], "the verifier key")
        if len(data) != 33 or data[0] != ED25519:
            raise NoteError("the verifier key is not an Ed25519 key")
        if key_id(name, data[1:]).hex() != hex_id.lower():
            raise NoteError("the verifier key's id does not match its name and key")
        return cls(name, bytes.fromhex(hex_id), Ed25519PublicKey.from_public_bytes(data[1:]))

    def __str__(self) -> str:
        raw = self.public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return f"{self.name}+{self.id.hex()}+{base64.b64encode(bytes([ED25519]) + raw).decode()}"


@dataclass(frozen=True)
class Signer:
    name: str
    private: Ed25519PrivateKey

    @classmethod
    def parse(cls, skey: str) -> Signer:
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or len(parts[3]) != 8:
            raise NoteError("a signer key is PRIVATE+KEY+<name>+<8 hex digits>+<base64 key>")
        name, data = _check_name(parts[2]), _b64(parts[4], "the signer key")
        if len(data) != 33 or data[0] != ED25519:
            raise NoteError("the signer key is not an Ed25519 key")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(data[1:]))
        if signer.verifier.id.hex() != parts[3].lower():
            raise NoteError("the signer key's id does not match its name and key")
        return signer

    @classmethod
    def generate(cls, name: str = DEFAULT_NAME) -> Signer:
        return cls(_check_name(name), Ed25519PrivateKey.generate())

    @property
    def verifier(self) -> Verifier:
        public = self.private.public_key()
        return Verifier(self.name, key_id(self.name, public.public_bytes(Encoding.Raw, PublicFormat.Raw)), public)

    def __str__(self) -> str:
        seed = self.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return f"PRIVATE+KEY+{self.name}+{self.verifier.id.hex()}+{base64.b64encode(bytes([ED25519]) + seed).decode()}"

    def sign(self, text: str) -> str:
        """The signed note of `text` (which ends in a newline)."""
        if not text.endswith("\n") or "\n\n" in text:
            raise NoteError("a note's text ends in a newline and has no blank line")
        signature = self.verifier.id + self.private.sign(text.encode())
        return f"{text}\n{DASH} {self.name} {base64.b64encode(signature).decode()}\n"


def open_note(note: str, verifier: Verifier) -> str:
    """The text of a signed note that carries a valid signature by `verifier` (other signatures are ignored)."""
    text, separator, signatures = note.rpartition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise NoteError("a signed note is its text, a blank line, and signature lines each ending in a newline")
    text += "\n"
    for line in signatures[:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError(f"a signature line is '{DASH} <name> <base64 signature>': {line!r}")
        signature = _b64(parts[2], "a signature")
        if parts[1] != verifier.name or signature[:4] != verifier.id:
            continue
        try:
            verifier.public.verify(signature[4:], text.encode())
        except InvalidSignature:
            raise NoteError(f"the signature of {verifier.name} does not verify over this text") from None
        return text
    raise NoteError(f"the note carries no signature by {verifier.name}+{verifier.id.hex()}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError(
                "a checkpoint is an origin, a tree size and a root hash, each on a line ending in a newline"
            )
        origin, size, root = lines[0], lines[1], lines[2]
        if not origin:
            raise NoteError("the checkpoint has no origin")
        if not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteError(f"the checkpoint's tree size is not a decimal number: {size!r}")
        digest = _b64(root, "the checkpoint's root hash")
        if len(digest) != 32:
            raise NoteError("the checkpoint's root hash is not 32 bytes")
        return cls(origin, int(size), digest)


def load_signer(key: str | None, key_file: Path, *, production: bool) -> Signer:
    """The ledger's signing key: given (SSZ_LEDGER_KEY), else the key file; outside production a key file is made
    on first run (readable by its owner only). Production refuses to start without a key."""
    if key:
        return Signer.parse(key)
    if key_file.exists():
        return Signer.parse(key_file.read_text())
    if production:
        raise NoteError("SSZ_LEDGER_KEY (or its key file) must be set in production: the ledger's signing key.")
    key_file.parent.mkdir(parents=True, exist_ok=True)
    draft = key_file.with_name(f".{key_file.name}.{os.urandom(6).hex()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(str(Signer.generate()) + "\n")
    try:  # processes starting together: the first key written whole wins, the others read it
        os.link(draft, key_file)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return Signer.parse(key_file.read_text())


def configured_signer(settings: Settings, options: LedgerSettings | None = None) -> Signer:
    options = options or LedgerSettings()
    return load_signer(
        options.key.get_secret_value() if options.key else None,
        options.key_file or settings.data_dir / "ledger.key",
        production=settings.environment == "production",
    )
