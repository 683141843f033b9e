"""The controller mirrors a primary's LDAP subtree into its shadow's (`shadow.ldap`): real slapd,
real controller process, events over the REST API. No switch connects; no Mininet."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from sdn_shadow.api.auth import TokenBook
from sdn_shadow.client import ApiError, ShadowClient
from sdn_shadow.directory.ldap_io import DirectoryError, connect
from sdn_shadow.directory.mirror import Entry, norm_dn
from sdn_shadow.lab.controller import ControllerError, ControllerProcess
from sdn_shadow.lab.net import free_tcp_port
from tests.integration.test_ldap_slapd import wait_for
from tests.slapd import Slapd, admin, loaded_slapd

pytestmark = pytest.mark.integration

SUFFIX = "dc=example,dc=org"
P = f"ou=tenant-a,{SUFFIX}"
S = f"ou=tenant-a-shadow,{SUFFIX}"
HOST_CLASSES = ["device", "ipHost"]
INTERVAL = 0.5

PRIMARY: list[tuple[str, dict]] = [
    (P, {"objectClass": "organizationalUnit", "ou": "tenant-a"}),
    (f"ou=hosts,{P}", {"objectClass": "organizationalUnit", "ou": "hosts"}),
    (f"cn=h1,ou=hosts,{P}", {"objectClass": HOST_CLASSES, "cn": "h1",
                             "ipHostNumber": "10.0.0.1"}),
    (f"ou=groups,{P}", {"objectClass": "organizationalUnit", "ou": "groups"}),
    (f"cn=web,ou=groups,{P}", {"objectClass": "groupOfNames", "cn": "web",
                               "member": f"cn=h1,ou=hosts,{P}"}),
]


@pytest.fixture
def slapd(tmp_path) -> Iterator[Slapd]:
    """A private slapd loaded with tenant-a's primary subtree; stopped and removed afterwards."""
    with loaded_slapd(tmp_path, PRIMARY) as server:
        yield server


def add_host(server: Slapd, name: str, ip: str) -> None:
    """An operator adds an ipHost to the primary."""
    with admin(server) as conn:
        assert conn.add(f"cn={name},ou=hosts,{P}", HOST_CLASSES,
                        {"cn": name, "ipHostNumber": ip}), conn.result


def shadow(server: Slapd) -> dict[str, Entry]:
    """The shadow subtree now ({} while slapd is down)."""
    try:
        directory = connect(server.url, server.bind_dn, server.password, timeout=2)
    except DirectoryError:  # down: nothing to read
        return {}
    try:
        return directory.read(S)
    finally:
        directory.close()


def controller_config(server: Slapd, tmp_path: Path, api_port: int) -> tuple[Path, str]:
    """The config file (one switch, tenant-a with a twin and shadow.ldap) and a viewer token."""
    password = tmp_path / "ldap-password"
    password.write_text(server.password + "\n")
    password.chmod(0o600)
    tokens = tmp_path / "tokens.yaml"
    book = TokenBook()
    token = book.add("noc", "viewer")
    book.save(tokens)
    data = {
        "fabric": {"switches": {"s1": {"dpid": 1}}},
        "networks": {"tenant-a": {
            "cidr": "10.0.0.0/24",
            "hosts": {"h1": {"switch": "s1", "port": 1, "mac": "00:00:00:00:0a:01",
                             "ip": "10.0.0.1"}},
            "shadow": {
                "hosts": {"h1s": {"twin": "h1", "switch": "s1", "port": 4}},
                "ldap": {"url": server.url, "bind_dn": server.bind_dn,
                         "password_file": str(password), "primary_base": P,
                         "shadow_base": S, "interval": INTERVAL,
                         "rules": [{"map_regex": r"ipHost/ipHostNumber=^10\.0\.:10.1."}]},
            }}},
        "api": {"listen": f"127.0.0.1:{api_port}", "tokens": str(tokens)},
    }
    path = tmp_path / "controller.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, token


@dataclass
class Running:
    """The controller under test and a viewer's API client."""

    process: ControllerProcess
    api: ShadowClient

    def ldap_events(self) -> list[dict]:
        """The controller's `ldap` events for tenant-a, oldest first."""
        return [e for e in self.api.iter_events()
                if e["kind"] == "ldap" and e.get("network") == "tenant-a"]


@pytest.fixture
def controller(slapd, tmp_path) -> Iterator[Running]:
    """The real controller process with shadow.ldap on `slapd`; always stopped."""
    api_port = free_tcp_port()
    path, token = controller_config(slapd, tmp_path, api_port)
    process = ControllerProcess(path, free_tcp_port(), tmp_path / "state.json",
                                tmp_path / "controller.log")
    api = ShadowClient(f"http://127.0.0.1:{api_port}", token, timeout=5)
    try:
        process.start()

        def answering() -> bool:
            if not process.running:
                raise ControllerError(f"controller exited ({process.returncode})\n"
                                      f"{process.log_tail()}")
            try:
                return api.health()["status"] == "ok"
            except (ApiError, httpx.HTTPError):  # not listening yet
                return False

        wait_for(answering, "the controller's API answers", timeout=30)
        yield Running(process, api)
    finally:
        api.close()
        process.stop()


def expected_shadow_dns() -> set[str]:
    return {norm_dn(dn.replace(P, S)) for dn, _ in PRIMARY}


def test_the_controller_mirrors_follows_and_reports_ldap_events(slapd, controller) -> None:
    try:
        wait_for(lambda: expected_shadow_dns() <= shadow(slapd).keys(), "initial mirror",
                 timeout=5)
    except AssertionError:
        raise AssertionError(controller.process.log_tail()) from None
    copy = shadow(slapd)
    assert copy.keys() == expected_shadow_dns()  # DNs rebased, nothing else
    assert copy[norm_dn(f"cn=h1,ou=hosts,{S}")].attributes["iphostnumber"] == ("10.1.0.1",)
    assert copy[norm_dn(f"cn=web,ou=groups,{S}")].attributes["member"] == (
        f"cn=h1,ou=hosts,{S}",)  # a DN value inside the subtree: rebased too

    add_host(slapd, "h2", "10.0.0.2")
    took = wait_for(lambda: norm_dn(f"cn=h2,ou=hosts,{S}") in shadow(slapd), "h2 mirrored",
                    timeout=5)
    assert took < 2.0, took
    assert shadow(slapd)[norm_dn(f"cn=h2,ou=hosts,{S}")].attributes["iphostnumber"] == (
        "10.1.0.2",)

    wait_for(lambda: len(controller.ldap_events()) >= 2, "two ldap events", timeout=5)
    first, second = controller.ldap_events()[:2]
    assert (first["result"], second["result"]) == ("ok", "ok")
    assert first["reason"].startswith(f"round 1: {len(PRIMARY)} added, 0 modified")
    assert " 1 added, " in second["reason"] and second["id"] > first["id"]
    assert all(isinstance(e["t"], float) for e in (first, second))
    time.sleep(3 * INTERVAL)  # quiet rounds add no event
    assert len(controller.ldap_events()) == 2


def test_an_ldap_outage_is_a_failed_event_and_the_mirror_recovers(slapd, controller) -> None:
    wait_for(lambda: expected_shadow_dns() <= shadow(slapd).keys(), "initial mirror", timeout=5)
    before = len(controller.ldap_events())
    slapd.stop()
    wait_for(lambda: any(e["result"] == "failed" for e in controller.ldap_events()[before:]),
             "a failed ldap event", timeout=10)
    failed = next(e for e in controller.ldap_events()[before:] if e["result"] == "failed")
    assert "error" in failed["reason"] and "127.0.0.1" in failed["reason"], failed
    assert controller.api.health()["status"] == "ok"  # the controller still answers
    assert controller.process.running

    slapd.start()  # same port, same data
    add_host(slapd, "h3", "10.0.0.3")
    wait_for(lambda: norm_dn(f"cn=h3,ou=hosts,{S}") in shadow(slapd),
             "h3 mirrored after slapd came back", timeout=20)
    events = controller.ldap_events()
    last_failed = max(i for i, e in enumerate(events) if e["result"] == "failed")
    assert [e["result"] for e in events[last_failed + 1:]][:1] == ["ok"], events
    assert controller.process.running and controller.api.health()["status"] == "ok"
