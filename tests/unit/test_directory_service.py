"""The controller's LDAP mirror service (`DirectoryMirrors`) where it starts no thread, and the
core's events of mirror rounds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from sdn_shadow.config import parse_config
from sdn_shadow.directory.follower import RoundReport
from sdn_shadow.directory.service import DirectoryMirrors

P = "ou=tenant-a,dc=example,dc=org"
S = "ou=tenant-a-shadow,dc=example,dc=org"


def config(tmp_path, interval: float = 0.01, networks: tuple[str, ...] = ("tenant-a",)):
    """A valid configuration whose networks each mirror P into S (password in tmp_path)."""
    password = tmp_path / "ldap-password"
    password.write_text("secret\n")
    data = {"fabric": {"switches": {"s1": {"dpid": 1}}}, "networks": {}}
    for index, name in enumerate(networks):
        data["networks"][name] = {
            "cidr": f"10.{index}.0.0/24",
            "hosts": {f"h{index}": {"switch": "s1", "port": 10 * index + 1,
                                    "mac": f"00:00:00:00:0{index}:01", "ip": f"10.{index}.0.1"}},
            "shadow": {"hosts": {f"h{index}s": {"twin": f"h{index}", "switch": "s1",
                                                "port": 10 * index + 2}},
                       "ldap": {"url": "ldap://127.0.0.1:1", "bind_dn": "cn=admin,dc=example",
                                "password_file": str(password),
                                "primary_base": P.replace("tenant-a", name),
                                "shadow_base": S.replace("tenant-a", name),
                                "interval": interval}}}
    return parse_config(data)


class Reports:
    """The callback: collects (network, report) and lets a test wait for a condition."""

    def __init__(self) -> None:
        self.items: list[tuple[str, RoundReport]] = []
        self.changed = threading.Condition()

    def __call__(self, network: str, report: RoundReport) -> None:
        with self.changed:
            self.items.append((network, report))
            self.changed.notify_all()

    def wait(self, condition: Callable[[list[RoundReport]], object], timeout: float = 5.0,
             network: str = "tenant-a") -> list[RoundReport]:
        with self.changed:
            if not self.changed.wait_for(lambda: condition(self.of(network)), timeout):
                lines = [r.line() for r in self.of(network)]
                raise AssertionError(f"not within {timeout} s: {lines}")
            return self.of(network)

    def of(self, network: str) -> list[RoundReport]:
        return [r for n, r in self.items if n == network]


def test_an_unreadable_password_is_a_failed_report_not_an_exception(tmp_path) -> None:
    cfg = config(tmp_path)
    (tmp_path / "ldap-password").unlink()  # gone between validation and start
    reports = Reports()
    service = DirectoryMirrors(cfg, reports)  # the real connector: reads the file at start
    try:
        service.start()
        [report] = reports.of("tenant-a")
        assert not report.ok and report.error.startswith("not started: --password-file ")
        assert "No such file" in report.error and service.threads == {}
    finally:
        service.stop(5)  # no thread to end, unless the test failed


def test_no_thread_without_shadow_ldap() -> None:
    plain = parse_config({"fabric": {"switches": {"s1": {"dpid": 1}}}, "networks": {"n": {
        "cidr": "10.0.0.0/24",
        "hosts": {"h": {"switch": "s1", "port": 1, "mac": "00:00:00:00:00:01",
                        "ip": "10.0.0.1"}}}}})
    service = DirectoryMirrors(plain, Reports()).start()
    assert service.threads == {} and service.stop(1)


def test_the_core_makes_events_of_rounds_that_changed_drifted_failed_or_recovered() -> None:
    from sdn_shadow.config import load_config
    from sdn_shadow.core import ShadowCore
    from sdn_shadow.directory.mirror import Drift

    core = ShadowCore(load_config(Path(__file__).resolve().parents[2] / "examples" /
                                  "ring.yaml"))
    rounds = [RoundReport(1, 0, 0.001, added=2),
              RoundReport(2, 0, 0.001, unchanged=True),
              RoundReport(3, 0, 0.001),  # read everything, nothing to do
              RoundReport(4, 0, 0.001, drift=(Drift(f"cn=x,{S}", "extra"),)),
              RoundReport(5, 0, 0.001, error="cannot reach ldap://x:1", retry_in=1.0),
              RoundReport(6, 0, 0.001, error="cannot reach ldap://x:1", retry_in=2.0),
              RoundReport(7, 0, 0.001),  # back: reported although quiet
              RoundReport(8, 0, 0.001, unchanged=True)]
    noted = [core.ldap_round(time.time(), "tenant-a", report) for report in rounds]
    assert noted == [True, False, False, True, True, True, True, False]
    events = core.events
    assert [(e["kind"], e["network"], e["result"], e["reason"].split(":")[0]) for e in events] == [
        ("ldap", "tenant-a", "ok", "round 1"), ("ldap", "tenant-a", "ok", "round 4"),
        ("ldap", "tenant-a", "failed", "round 5"), ("ldap", "tenant-a", "failed", "round 6"),
        ("ldap", "tenant-a", "ok", "round 7")]
    assert events[0]["reason"] == rounds[0].line() and isinstance(events[0]["t"], float)


def test_a_plain_ldap_url_is_warned_about(tmp_path, caplog) -> None:
    class Idle:
        """A directory that is never reached: the connect callable raises."""

        def __call__(self, settings):
            def connect():
                raise OSError("not in this test")
            return connect

    service = DirectoryMirrors(config(tmp_path, interval=60), Reports(), connector=Idle())
    with caplog.at_level("WARNING", logger="sdn_shadow.directory"):
        service.start()
    service.stop(5)
    assert any("binds to ldap://127.0.0.1:1 without TLS" in r.getMessage()
               for r in caplog.records)
