"""Bearer tokens for the REST API: roles, hashed storage, the token file (pure but for the file).

A token is 32 random bytes (URL-safe base64), so it cannot be guessed and a
single SHA-256 is enough to store it: a slow password hash (scrypt, bcrypt)
protects low-entropy secrets people choose, which tokens are not. The file
holds names, roles and hashes only; a token is shown once, when it is made.

Token file (YAML):

    tokens:
      - {name: ci, role: operator, sha256: 3b1f...}
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml

from sdn_shadow.config.model import ROLES


def role_allows(role: str, needed: str) -> bool:
    """Whether `role` may do what `needed` may."""
    return ROLES.index(role) >= ROLES.index(needed)


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random token (32 bytes, URL-safe base64)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Holder:
    """Whom a token belongs to and what it may do."""

    name: str
    role: str


class TokenFileError(ValueError):
    """A token file that cannot be used; the message names the entry and the reason."""


class TokenBook:
    """The known tokens, by hash."""

    def __init__(self, holders: dict[str, Holder] | None = None) -> None:
        self.holders = dict(holders or {})

    def holder(self, token: str) -> Holder | None:
        """Who presents `token`, or None (compared in constant time)."""
        digest = hash_token(token)
        found = None
        for known, holder in self.holders.items():
            if hmac.compare_digest(known, digest):
                found = holder
        return found

    def add(self, name: str, role: str) -> str:
        """Make a token for `name` with `role`; the token (only its hash is kept)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if any(h.name == name for h in self.holders.values()):
            raise ValueError(f"a token named {name!r} exists already")
        token = new_token()
        self.holders[hash_token(token)] = Holder(name, role)
        return token

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TokenBook:
        """Read a token file (TokenFileError naming the problem); a missing file is empty."""
        path = Path(path)
        if not path.exists():
            return cls()
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise TokenFileError(f"{path}: not YAML: {err}") from None
        entries = data.get("tokens", []) if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise TokenFileError(f"{path}: tokens: must be a list")
        holders = {}
        for i, entry in enumerate(entries):
            where = f"{path}: tokens[{i}]"
            if not isinstance(entry, dict) or set(entry) != {"name", "role", "sha256"}:
                raise TokenFileError(f"{where}: needs exactly name, role and sha256")
            if entry["role"] not in ROLES:
                raise TokenFileError(f"{where}.role: must be one of {', '.join(ROLES)}")
            digest = str(entry["sha256"]).lower()
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise TokenFileError(f"{where}.sha256: must be 64 hex digits")
            holders[digest] = Holder(str(entry["name"]), entry["role"])
        return cls(holders)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the token file (owner read/write only)."""
        path = Path(path)
        entries = [{"name": h.name, "role": h.role, "sha256": digest}
                   for digest, h in sorted(self.holders.items(), key=lambda kv: kv[1].name)]
        path.write_text(yaml.safe_dump({"tokens": entries}, sort_keys=False))
        path.chmod(0o600)
