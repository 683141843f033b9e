"""LDAP roles for the REST API: bind as the user, take the role from group membership.

The directory checks the password (a simple bind as the user's own DN) and
its groups say what the user may do, so access is managed where the accounts
already are. A successful answer is remembered for `cache_seconds` so that a
request does not cost a bind.

Refusals are bounded so that guessing costs the guesser, not the controller: a
refused (user, password) is remembered for `REFUSED_SECONDS` (answered without a
bind); after `FAIL_LIMIT` refusals of one user within `FAIL_WINDOW` seconds, that
user's logins are refused at once for `LOCKOUT_SECONDS` (`LoginThrottled`, with
the time left); and at most `BINDS_AT_ONCE` binds run at a time, so a storm of
logins cannot take every worker the API has (the rest wait up to the
directory's `timeout`, then get `LdapUnavailable`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import re
import secrets
import ssl
import threading
import time
import unicodedata
from collections.abc import Callable

from ldap3 import BASE, Connection, Tls
from ldap3.core.exceptions import (
    LDAPCertificateError,
    LDAPCommunicationError,
    LDAPException,
    LDAPResponseTimeoutError,
    LDAPSSLConfigurationError,
    LDAPStartTLSError,
)

from sdn_shadow.api.auth import ROLES, Holder
from sdn_shadow.config.model import PLACEHOLDER, LdapRoleSettings
from sdn_shadow.directory.dn import try_norm_dn
from sdn_shadow.directory.ldap_io import unbound, values_of

log = logging.getLogger(__name__)

_SERVER_DOWN = (51, 52)  # busy, unavailable: the server answers but cannot judge
_BROKEN = (LDAPCommunicationError, LDAPResponseTimeoutError, LDAPCertificateError,
           LDAPStartTLSError, LDAPSSLConfigurationError)
_DN_SPECIAL = '"+,;<>\\='
_OPTIONAL_UID = re.compile(r"#'[01]*'B$")  # uniqueMember: NameAndOptionalUID (RFC 4517)


class LdapUnavailable(RuntimeError):
    """The directory cannot be reached or does not answer in time (the API answers 503)."""


class LoginThrottled(LdapUnavailable):
    """Too many refused logins for one user lately: refused without asking the directory."""

    def __init__(self, user: str, retry_after: float) -> None:
        super().__init__(f"too many refused logins for {user!r}: try again in "
                         f"{max(1, round(retry_after))} s")
        self.user, self.retry_after = user, retry_after


#: Seconds a refused (user, password) is answered from memory.
REFUSED_SECONDS = 10.0
#: Refusals of one user within FAIL_WINDOW seconds that lock its logins for LOCKOUT_SECONDS.
FAIL_LIMIT = 5
FAIL_WINDOW = 60.0
LOCKOUT_SECONDS = 30.0
#: Binds to the directory at once.
BINDS_AT_ONCE = 4
#: Users and refused passwords remembered at most (the oldest are forgotten first).
REMEMBERED = 10_000


Connect = Callable[[LdapRoleSettings, str, str], Connection]


def escape_dn_value(value: str) -> str:
    """`value` escaped for use as an RDN value (RFC 4514 section 2.4), so it stays one value."""
    out = []
    for index, char in enumerate(value):
        if char in _DN_SPECIAL or (char in " #" and index == 0) or \
                (char == " " and index == len(value) - 1):
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def connect_ldap(settings: LdapRoleSettings, bind_dn: str, password: str) -> Connection:
    """An unbound ldap3 connection for a simple bind (ldaps verifies the certificate)."""
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_file or None)
    return unbound(settings.url, bind_dn, password, settings.timeout, tls)


def _unavailable(settings: LdapRoleSettings, what: str, exc: Exception) -> LdapUnavailable:
    """An LdapUnavailable naming the server and what failed."""
    return LdapUnavailable(f"LDAP server {settings.url} unavailable ({what}): {exc}")


def cleartext_warnings(url: str, https: bool) -> list[str]:
    """Where LDAP users' passwords would travel in the clear: HTTP Basic without
    `api.tls`, and a plain `ldap://` directory (one line each; empty when neither)."""
    out = []
    if not https:
        out.append("api.ldap without api.tls: LDAP users send their passwords in HTTP Basic "
                   "over plain HTTP; set api.tls, or keep api.listen on loopback")
    if url.lower().startswith("ldap://"):
        out.append(f"api.ldap.url {url}: the controller binds with users' passwords over "
                   "plain LDAP; use ldaps://")
    return out


def user_name(typed: str) -> str:
    """A login name's normal form: Unicode NFC, case folded, outer spaces gone."""
    return unicodedata.normalize("NFC", typed).strip().casefold()


def _same_uid(member_uid: str, user: str) -> bool:
    """Whether a memberUid names `user`: ASCII (IA5) only, case-insensitive like uid itself."""
    return member_uid.isascii() and user.isascii() and member_uid.lower() == user.lower()


def _unique_member_dns(value: str) -> list[str]:
    """The DN a uniqueMember value may stand for: as written, and without `#'0101'B`."""
    forms = [value]
    found = _OPTIONAL_UID.search(value)
    if found:
        forms.append(value[:found.start()])
    return [dn for dn in map(try_norm_dn, forms) if dn is not None]


def _forget_oldest(table: dict) -> None:
    """Forget the older half of a full `table` (dicts keep insertion order)."""
    if len(table) >= REMEMBERED:
        for old in list(table)[:REMEMBERED // 2]:
            del table[old]


class LdapRoles:
    """Who a user is and what they may do, asked of the directory (and cached briefly)."""

    def __init__(self, settings: LdapRoleSettings, clock: Callable[[], float] = time.monotonic,
                 connect: Connect | None = None) -> None:
        """Use `settings` (ValueError listing what is wrong with them)."""
        errors = settings.check()
        if errors:
            raise ValueError("; ".join(f"{key}: {reason}" for key, reason in errors))
        self.settings = settings
        self.clock = clock
        self.connect = connect or connect_ldap
        self._key = secrets.token_bytes(32)  # cache keys are not plain SHA-256 of passwords
        self._cache: dict[tuple[str, str], tuple[float, Holder]] = {}
        self._refused: dict[tuple[str, str], float] = {}  # key -> remembered until
        self._failures: dict[str, list[float]] = {}  # user -> refusal times in the window
        self._locked: dict[str, float] = {}  # user -> locked until
        self._binds = threading.BoundedSemaphore(BINDS_AT_ONCE)
        self._lock = threading.Lock()

    def holder(self, typed: str, password: str) -> Holder | None:
        """The user's Holder, or None (bad credentials, no role); LdapUnavailable if down.

        The name is bound as typed, but the Holder, the cache and the login
        throttle use its normal form (`user_name`): `Alice` and `alice` are one
        account (uid matches case-insensitively), shown as `alice`, and share
        one count of refusals.
        """
        if not typed or not password:
            return None  # an empty password is an unauthenticated bind: it proves nothing
        user = user_name(typed)
        key = (user, hmac.new(self._key, password.encode("utf-8", "surrogatepass"),
                              hashlib.sha256).hexdigest())
        now = self.clock()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and now < cached[0]:
                return cached[1]
            locked = self._locked.get(user, 0.0)
            if now < locked:
                raise LoginThrottled(user, locked - now)
            if now < self._refused.get(key, 0.0):
                self._refused_now(user, key, now)
                return None
        if not self._binds.acquire(timeout=self.settings.timeout):
            raise LdapUnavailable(f"{BINDS_AT_ONCE} logins already waiting on the directory "
                                  f"for {self.settings.timeout:g} s")
        try:
            found, refused = self._lookup(typed, password)
        finally:
            self._binds.release()
        if found is not None:
            found = Holder(user, found.role)
        with self._lock:
            now = self.clock()
            if refused:
                self._refused_now(user, key, now)
            if found is None:  # refused, or bound but in no role group (not remembered)
                return None
            self._failures.pop(user, None)
            if self.settings.cache_seconds > 0:
                self._cache = {k: v for k, v in self._cache.items() if now < v[0]}
                self._cache[key] = (now + self.settings.cache_seconds, found)
        return found

    def _refused_now(self, user: str, key: tuple[str, str], now: float) -> None:
        """Count a refusal of `user` (the lock held): remember it, lock the user at the limit."""
        for table in (self._refused, self._failures, self._locked):
            _forget_oldest(table)
        self._refused.pop(key, None)
        self._refused[key] = now + REFUSED_SECONDS
        recent = [t for t in self._failures.pop(user, []) if now - t < FAIL_WINDOW]
        recent.append(now)
        self._failures[user] = recent[-FAIL_LIMIT:]
        if len(recent) >= FAIL_LIMIT:
            self._locked.pop(user, None)
            self._locked[user] = now + LOCKOUT_SECONDS
            self._failures.pop(user, None)
            log.warning("LDAP login: %d refusals of %r within %g s: its logins are refused "
                        "for %g s", len(recent), user, FAIL_WINDOW, LOCKOUT_SECONDS)

    def forget(self) -> None:
        """Drop every cached answer, refusal and lock."""
        with self._lock:
            for table in (self._cache, self._refused, self._failures, self._locked):
                table.clear()

    def user_dn(self, user: str) -> str:
        """The DN `user` binds as (the name escaped, so it cannot add DN components)."""
        return self.settings.user_dn.replace(PLACEHOLDER, escape_dn_value(user))

    def _lookup(self, user: str, password: str) -> tuple[Holder | None, bool]:
        """Bind as the user and read the groups with that bind: (holder, whether the
        credentials were refused)."""
        settings = self.settings
        dn = self.user_dn(user)
        try:
            conn = self.connect(settings, dn, password)
        except _BROKEN as exc:
            raise _unavailable(settings, f"connect for {dn}", exc) from exc
        except LDAPException as exc:  # e.g. a DN ldap3 will not send
            log.info("LDAP login %r refused before binding: %s", user, exc)
            return None, True
        try:
            try:
                bound = conn.bind()
            except _BROKEN as exc:
                raise _unavailable(settings, f"bind as {dn}", exc) from exc
            except LDAPException as exc:
                log.info("LDAP bind as %s refused by ldap3: %s", dn, exc)
                return None, True
            except Exception as exc:  # ldap3 breaks on a reply that is not LDAP (KeyError...)
                raise _unavailable(settings, f"bind as {dn}, not an LDAP reply", exc) from exc
            if not bound:
                result = conn.result or {}
                if result.get("result") in _SERVER_DOWN:
                    raise _unavailable(settings, f"bind as {dn}",
                                       RuntimeError(result.get("description")))
                log.info("LDAP bind as %s refused: %s (%s)", dn, result.get("description"),
                         result.get("result"))
                return None, True
            role = self._role(conn, user, dn)
        finally:
            with contextlib.suppress(LDAPException):
                conn.unbind()
        if role is None:
            log.info("LDAP user %s is in none of the role groups", dn)
            return None, False
        return Holder(user, role), False

    def _read(self, conn: Connection, dn: str, attributes: list[str]) -> dict | None:
        """The attributes of one entry as the bound user sees it; None if it cannot be read."""
        try:
            done = conn.search(dn, "(objectClass=*)", BASE, attributes=attributes)
        except _BROKEN as exc:
            raise _unavailable(self.settings, f"read {dn}", exc) from exc
        except LDAPException as exc:
            log.info("LDAP read of %s failed: %s", dn, exc)
            return None
        except Exception as exc:  # ldap3 breaks on a reply that is not LDAP
            raise _unavailable(self.settings, f"read {dn}, not an LDAP reply", exc) from exc
        if not done:
            result = conn.result or {}
            if result.get("result") in _SERVER_DOWN:
                raise _unavailable(self.settings, f"read {dn}",
                                   RuntimeError(result.get("description")))
            return None
        for item in conn.response or []:
            if item.get("type") == "searchResEntry":
                return item.get("raw_attributes") or item.get("attributes") or {}
        return None

    def _role(self, conn: Connection, user: str, dn: str) -> str | None:
        """The highest role whose group lists the bound user."""
        me = try_norm_dn(dn)
        if me is None:  # the server took a DN we cannot compare: grant nothing
            return None
        for role in reversed(ROLES):
            group = self.settings.groups.get(role)
            if group is None:
                continue
            attributes = self._read(conn, group, ["member", "uniqueMember", "memberUid"])
            if not attributes:
                continue
            if any(try_norm_dn(m) == me for m in values_of(attributes, "member")):
                return role
            if any(me in _unique_member_dns(m) for m in values_of(attributes, "uniqueMember")):
                return role
            if any(_same_uid(uid, user) for uid in values_of(attributes, "memberUid")):
                return role
        return None
