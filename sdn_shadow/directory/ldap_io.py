"""The ldap3 adapter: bind, read a subtree, fingerprint it, apply operations one by one."""

from __future__ import annotations

import contextlib
import hashlib
import math
import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ldap3 import (
    MODIFY_DELETE,
    MODIFY_REPLACE,
    NONE,
    SIMPLE,
    SUBTREE,
    Connection,
    Server,
    Tls,
)
from ldap3.core.exceptions import (
    LDAPCommunicationError,
    LDAPException,
    LDAPResponseTimeoutError,
)

from sdn_shadow.directory.mirror import Add, Delete, Entry, ModDN, Modify, Op, by_dn

PAGE_SIZE = 500
_PAGED_RESULTS = "1.2.840.113556.1.4.319"
_NO_SUCH_OBJECT = 32
_BROKEN = (LDAPCommunicationError, LDAPResponseTimeoutError)
# ldap3's decoder fails with these on bytes that are not an LDAP message: a server that does
# not speak LDAP, or a socket connected to itself (a client port that happened to equal the
# port of a server just stopped, so it reads back its own request). Some of ldap3's own
# exceptions subclass these too: catch LDAPException first.
_GARBLED = (KeyError, IndexError, ValueError)


class DirectoryError(Exception):
    """The server could not be reached, refused the bind, or the session broke.

    `results` holds the operations that completed before the break.
    """

    def __init__(self, message: str, results: list[OpResult] | None = None) -> None:
        """Keep the message and any results gathered so far."""
        super().__init__(message)
        self.results = results or []


@dataclass(frozen=True)
class OpResult:
    """The outcome of one operation: success, or the server's result code and message."""

    op: Op
    ok: bool
    code: int | None = None
    name: str = ""
    message: str = ""

    @property
    def reason(self) -> str:
        """The server's reason in one line, e.g. `objectClassViolation (65): ...`."""
        if self.ok:
            return "success"
        head = f"{self.name} ({self.code})" if self.code is not None else self.name
        return f"{head}: {self.message}" if self.message else head


def _text(value: bytes) -> str:
    """A raw attribute value as text (bytes that are not UTF-8 survive the round trip)."""
    return value.decode("utf-8", "surrogateescape")


def _raw(values: Iterable[str]) -> list[bytes]:
    """Text values back to the bytes the server sent."""
    return [v.encode("utf-8", "surrogateescape") for v in values]


class LdapDirectory:
    """One bound connection: reads subtrees and applies operations."""

    def __init__(self, connection: Connection, url: str = "") -> None:
        """Wrap a bound ldap3 connection (made with raise_exceptions=False); `url` for errors."""
        self.connection = connection
        self.url = url

    def _error(self, text: str, results: list[OpResult] | None = None) -> DirectoryError:
        """A DirectoryError naming the server."""
        return DirectoryError(f"{self.url}: {text}" if self.url else text, results)

    def _search(self, base: str, attributes: list[str]) -> Iterator[dict]:
        """Every entry of the subtree at `base` (paged); none when `base` does not exist."""
        cookie: bytes | None = None
        while True:
            try:
                done = self.connection.search(base, "(objectClass=*)", SUBTREE,
                                              attributes=attributes, paged_size=PAGE_SIZE,
                                              paged_cookie=cookie)
            except LDAPException as exc:
                raise self._error(f"search {base}: {exc}") from exc
            except _GARBLED as exc:
                raise self._error(f"search {base}: {_not_ldap(exc)}") from exc
            result = self.connection.result or {}
            if not done and result.get("result") == _NO_SUCH_OBJECT:
                return
            if not done and result.get("result") != 0:
                raise self._error(f"search {base}: {_describe(result)}")
            yield from (item for item in self.connection.response or []
                        if item.get("type") == "searchResEntry")
            control = result.get("controls", {}).get(_PAGED_RESULTS, {})
            cookie = control.get("value", {}).get("cookie")
            if not cookie:
                return

    def read(self, base: str) -> dict[str, Entry]:
        """The subtree at `base` with user and operational attributes, keyed by norm_dn."""
        return by_dn(Entry(item["dn"], {name.lower(): tuple(_text(v) for v in values)
                                        for name, values in item["raw_attributes"].items()})
                     for item in self._search(base, ["*", "+"]))

    def fingerprint(self, base: str) -> str:
        """A digest of every (DN, entryCSN, modifyTimestamp) in the subtree: it changes
        whenever an entry is added, modified, renamed or deleted."""
        lines = sorted(
            "\n".join([item["dn"].lower()] + [
                _text(v) for name in ("entryCSN", "modifyTimestamp")
                for v in _lookup(item["raw_attributes"], name)])
            for item in self._search(base, ["entryCSN", "modifyTimestamp"]))
        return hashlib.sha256("\0".join(lines).encode("utf-8", "surrogateescape")).hexdigest()

    def apply(self, ops: Iterable[Op]) -> list[OpResult]:
        """Apply each operation in order; a rejected one is recorded and the others go on.

        Raises DirectoryError (with the results so far) when the session breaks.
        """
        results: list[OpResult] = []
        for op in ops:
            try:
                done = self._send(op)
            except _BROKEN as exc:
                raise self._error(f"{type(op).__name__.lower()} {op.dn}: {exc}",
                                  results) from exc
            except LDAPException as exc:  # refused before sending: bad DN or value
                results.append(OpResult(op, False, None, type(exc).__name__, str(exc)))
                continue
            except _GARBLED as exc:
                raise self._error(f"{type(op).__name__.lower()} {op.dn}: {_not_ldap(exc)}",
                                  results) from exc
            result = self.connection.result
            if result is None or self.connection.closed:
                raise self._error(f"{type(op).__name__.lower()} {op.dn}: connection lost",
                                  results)
            if done:
                results.append(OpResult(op, True, 0, "success"))
            else:
                results.append(OpResult(op, False, result.get("result"),
                                        result.get("description", ""),
                                        _message(result)))
        return results

    def _send(self, op: Op) -> bool:
        """Send one operation; True when the server accepted it."""
        conn = self.connection
        if isinstance(op, Add):
            return conn.add(op.dn, attributes={k: _raw(v) for k, v in op.attributes.items()})
        if isinstance(op, Modify):
            changes = {k: [(MODIFY_REPLACE, _raw(v))] for k, v in op.replace.items()}
            changes.update({k: [(MODIFY_DELETE, [])] for k in op.delete})
            return conn.modify(op.dn, changes)
        if isinstance(op, ModDN):
            return conn.modify_dn(op.dn, op.new_rdn, delete_old_dn=True,
                                  new_superior=op.new_superior)
        if isinstance(op, Delete):
            return conn.delete(op.dn)
        raise TypeError(f"not an operation: {op!r}")

    def close(self) -> None:
        """Unbind; errors on a broken session are ignored."""
        with contextlib.suppress(LDAPException, *_GARBLED):
            self.connection.unbind()


def _lookup(attributes: dict, name: str) -> list[bytes]:
    """An attribute's raw values, the name matched case-insensitively."""
    for key, values in attributes.items():
        if key.lower() == name.lower():
            return values
    return []


def _message(result: dict) -> str:
    """The server's diagnostic message, with the matched DN when it says something."""
    message = (result.get("message") or "").strip()
    if not message and result.get("result") == _NO_SUCH_OBJECT and result.get("dn"):
        message = f"parent missing (nearest existing entry: {result['dn']})"
    elif not message and result.get("result") == _NO_SUCH_OBJECT:
        message = "parent or entry missing"
    return message


def _describe(result: dict) -> str:
    """A result as `name (code): message`."""
    text = f"{result.get('description', 'error')} ({result.get('result')})"
    message = _message(result)
    return f"{text}: {message}" if message else text


def verified_tls(ca_file: str = "") -> Tls:
    """TLS for ldaps://: the server's certificate must chain to `ca_file` (PEM; "" = the
    system's CAs) and name the host of the URL, else nothing (no password) is sent."""
    return Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file or None)


def unbound(url: str, bind_dn: str, password: str, timeout: float,
            tls: Tls | None = None) -> Connection:
    """An ldap3 connection for a simple bind, not yet bound; errors as results, not raised.

    `tls` None: `verified_tls()`, the system's CAs (ldap3's own default verifies nothing).
    """
    server = Server(url, get_info=NONE, connect_timeout=timeout, tls=tls or verified_tls())
    return Connection(server, user=bind_dn, password=password, authentication=SIMPLE,
                      raise_exceptions=False, auto_bind=False,
                      receive_timeout=max(1, math.ceil(timeout)))  # an int on Linux


def values_of(attributes: dict, name: str) -> list[str]:
    """An attribute's values as text, the name matched case-insensitively."""
    return [_text(v) if isinstance(v, bytes) else str(v) for v in _lookup(attributes, name)]


def connect(url: str, bind_dn: str, password: str, timeout: float = 5.0,
            ca_file: str = "") -> LdapDirectory:
    """Connect and simple-bind; DirectoryError when the server is down, its certificate is
    not trusted (ldaps://: `ca_file`, else the system's CAs), it refuses the bind or its
    reply is not LDAP."""
    try:
        connection = unbound(url, bind_dn, password, timeout, verified_tls(ca_file))
        bound = connection.bind()
    except (LDAPException, OSError) as exc:  # ssl.SSLError and an unreadable CA file: OSError
        raise DirectoryError(f"cannot reach {url}: {exc}") from exc
    except _GARBLED as exc:  # after LDAPException, some of which subclass these too
        LdapDirectory(connection).close()
        raise DirectoryError(f"bind to {url} as {bind_dn}: {_not_ldap(exc)}") from exc
    if not bound:
        reason = _describe(connection.result or {})
        LdapDirectory(connection).close()
        raise DirectoryError(f"bind to {url} as {bind_dn}: {reason}")
    return LdapDirectory(connection, url)


def _not_ldap(exc: Exception) -> str:
    """The reason for a reply ldap3 could not decode."""
    return f"not an LDAP reply ({type(exc).__name__} {exc})"
