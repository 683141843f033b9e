"""A private slapd for tests: temp config with Debian's schemas, mdb, 127.0.0.1, owned cleanup."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ldap3 import NONE, Connection, Server
from ldap3.core.exceptions import LDAPException

from sdn_shadow.lab.ports import free_tcp_port

SLAPD = Path("/usr/sbin/slapd")
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
SCHEMAS = ("core", "cosine", "nis", "inetorgperson")
SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"


def slapd_missing() -> list[str]:
    """What this machine lacks to run the private slapd (Debian packages slapd, ldap-utils)."""
    missing = [str(SLAPD)] if not SLAPD.exists() else []
    missing += [str(SCHEMA_DIR / f"{name}.schema") for name in SCHEMAS
                if not (SCHEMA_DIR / f"{name}.schema").exists()]
    return missing


def _config(directory: Path, password: str, syncprov: bool) -> str:
    """slapd.conf text: schemas, modules found in /usr/lib/ldap, one mdb database."""
    lines = [f"include {SCHEMA_DIR / name}.schema" for name in SCHEMAS]
    lines += [f"pidfile {directory / 'slapd.pid'}", f"argsfile {directory / 'slapd.args'}",
              "loglevel none"]
    modules = ["back_mdb"] + (["syncprov"] if syncprov else [])
    loadable = [m for m in modules if (MODULE_DIR / f"{m}.so").exists()]
    if loadable:
        lines.append(f"modulepath {MODULE_DIR}")
        lines += [f"moduleload {m}" for m in loadable]
    lines += ["database mdb", f'suffix "{SUFFIX}"', f'rootdn "{ROOT_DN}"',
              f"rootpw {password}", f"directory {directory / 'db'}", "maxsize 67108864",
              "index objectClass eq"]
    if syncprov:
        lines.append("overlay syncprov")
    return "\n".join(lines) + "\n"


@dataclass
class Slapd:
    """A slapd process this test owns: stop and start it again on the same port and data."""

    directory: Path
    port: int
    password: str
    base: str = SUFFIX
    bind_dn: str = ROOT_DN
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """ldap://127.0.0.1:PORT (no trailing slash: ldap3 rejects one)."""
        return f"ldap://127.0.0.1:{self.port}"

    def log_tail(self) -> str:
        """The end of slapd's output, for failure messages."""
        log = self.directory / "slapd.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""

    def start(self, timeout: float = 15.0) -> None:
        """Start slapd in the foreground and wait until it accepts a bind."""
        if self.process is not None:
            raise RuntimeError("slapd already running")
        with open(self.directory / "slapd.log", "ab") as log:
            self.process = subprocess.Popen(
                [str(SLAPD), "-h", self.url, "-f", str(self.directory / "slapd.conf"),
                 "-d", "0"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise RuntimeError(f"slapd exited with {code}: {self.log_tail()}")
            if self.bind() is not None:
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"slapd did not answer a bind in {timeout} s")
            time.sleep(0.05)

    def bind(self) -> Connection | None:
        """A bound ldap3 connection as the root DN, or None when slapd does not answer."""
        try:
            conn = Connection(Server(self.url, get_info=NONE, connect_timeout=1),
                              self.bind_dn, self.password, receive_timeout=5)
            return conn if conn.bind() else None
        except LDAPException:
            return None

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the process this object started (SIGTERM, then SIGKILL) and reap it."""
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def restart(self) -> None:
        """Stop and start again: same port, same data."""
        self.stop()
        self.start()


@contextmanager
def running_slapd(tmp_path: Path, syncprov: bool = False) -> Iterator[Slapd]:
    """A fresh slapd with the suffix entry dc=example,dc=org; stopped and removed on exit."""
    directory = Path(tmp_path) / f"slapd-{secrets.token_hex(4)}"
    (directory / "db").mkdir(parents=True)
    server = Slapd(directory, free_tcp_port(), secrets.token_urlsafe(12))
    try:
        (directory / "slapd.conf").write_text(_config(directory, server.password, syncprov))
        server.start()
        conn = server.bind()
        assert conn is not None
        try:
            if not conn.add(SUFFIX, ["dcObject", "organization"],
                            {"dc": "example", "o": "Example"}):
                raise RuntimeError(f"cannot add {SUFFIX}: {conn.result}")
        finally:
            conn.unbind()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def admin(server: Slapd) -> Iterator[Connection]:
    """A root connection for making changes the way an operator would."""
    conn = Connection(Server(server.url, get_info=NONE), server.bind_dn, server.password,
                      auto_bind=True, receive_timeout=5)
    try:
        yield conn
    finally:
        conn.unbind()


@contextmanager
def loaded_slapd(tmp_path: Path, entries: list[tuple[str, dict]]) -> Iterator[Slapd]:
    """`running_slapd` loaded with `entries` (DN, attributes); skipped without slapd, and
    failed instead under CI=true."""
    import os

    import pytest

    missing = slapd_missing()
    if missing:
        message = f"slapd not available: missing {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with running_slapd(tmp_path) as server:
        with admin(server) as conn:
            for dn, attrs in entries:
                assert conn.add(dn, attributes=attrs), (dn, conn.result)
        yield server
