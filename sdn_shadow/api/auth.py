"""Bearer tokens for the REST API: roles, hashed storage, the token file (pure but for the file).

A book loaded from a file follows it: each check first looks whether the
file changed (one stat) and reads it again, so `token add` and `token
remove` take effect on a running controller at its next request. A file
that cannot be read or parsed then keeps the last good tokens (logged).

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
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml

from sdn_shadow.atomic import replace_file
from sdn_shadow.config.document import read_regular
from sdn_shadow.config.model import ROLES

LOG = logging.getLogger("sdn_shadow.api")


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

    def __init__(self, holders: dict[str, Holder] | None = None,
                 path: str | os.PathLike[str] | None = None) -> None:
        self.holders = dict(holders or {})
        self.path = None if path is None else Path(path)
        self._stamp = _stamp(self.path)
        self._lock = threading.Lock()

    def holder(self, token: str) -> Holder | None:
        """Who presents `token`, or None (compared in constant time)."""
        self.refresh()
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

    def remove(self, name: str) -> None:
        """Forget the token named `name` (ValueError when there is none)."""
        digests = [d for d, h in self.holders.items() if h.name == name]
        if not digests:
            raise ValueError(f"no token named {name!r}")
        for digest in digests:
            del self.holders[digest]

    def refresh(self) -> None:
        """Read the file again if it changed since it was read (the last good book stays
        when it cannot be read)."""
        if self.path is None or _stamp(self.path) == self._stamp:
            return
        with self._lock:
            stamp = _stamp(self.path)
            if stamp == self._stamp:
                return
            self._stamp = stamp
            try:
                self.holders = TokenBook.load(self.path).holders
            except TokenFileError as err:
                LOG.error("token file not reloaded, keeping %d tokens: %s",
                          len(self.holders), err)
                return
            LOG.info("token file %s reloaded: %d tokens", self.path, len(self.holders))

    @classmethod
    def load(cls, path: str | os.PathLike[str], missing_ok: bool = False) -> TokenBook:
        """Read a token file (TokenFileError naming the problem); a missing file is an error
        unless `missing_ok` (then the book is empty)."""
        path = Path(path)
        if missing_ok and not path.exists():
            return cls(path=path)
        try:
            data = yaml.safe_load(read_regular(path, 1 << 20).decode()) or {}
        except OSError as err:
            raise TokenFileError(f"{path}: {err.strerror or err}") from None
        except (yaml.YAMLError, ValueError, RecursionError) as err:  # UnicodeDecodeError too
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
        return cls(holders, path)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the token file (owner read/write only), replacing it in one step so a
        controller reading it never sees half a file."""
        path = Path(path)
        entries = [{"name": h.name, "role": h.role, "sha256": digest}
                   for digest, h in sorted(self.holders.items(), key=lambda kv: kv[1].name)]
        replace_file(path, yaml.safe_dump({"tokens": entries}, sort_keys=False), 0o600)


def _stamp(path: Path | None) -> tuple[int, int, int] | None:
    """What tells a file changed: inode, size, modification time (None: no file)."""
    try:
        st = os.stat(path) if path is not None else None
    except OSError:
        return None
    return None if st is None else (st.st_ino, st.st_size, st.st_mtime_ns)
