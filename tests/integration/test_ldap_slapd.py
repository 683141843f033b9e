"""LDAP mirroring against a real slapd: copy, changes, drift, outage, rejections, command."""

from __future__ import annotations

import json
import re
import select
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from ldap3 import MODIFY_ADD, MODIFY_REPLACE

from sdn_shadow.directory.follower import Mirror
from sdn_shadow.directory.ldap_io import connect
from sdn_shadow.directory.mirror import Entry, MappingRule, norm_dn, rebase_dn
from tests.docs_commands import lines_for
from tests.slapd import Slapd, admin, loaded_slapd

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SUFFIX = "dc=example,dc=org"
P = f"ou=primary,{SUFFIX}"
S = f"ou=shadow,{SUFFIX}"
OUTSIDE = f"cn=policy,ou=docs,{SUFFIX}"
HOST_CLASSES = ["device", "ipHost", "ieee802Device"]
ADDRESS_RULE = MappingRule("ipHostNumber", r"^10\.0\.", "10.1.", regex=True,
                           object_class="ipHost")

PRIMARY: list[tuple[str, dict]] = [
    (P, {"objectClass": "organizationalUnit", "ou": "primary", "description": "net-a config"}),
    (f"ou=networks,{P}", {"objectClass": "organizationalUnit", "ou": "networks"}),
    (f"cn=lan,ou=networks,{P}", {"objectClass": "ipNetwork", "cn": "lan",
                                 "ipNetworkNumber": "10.0.0.0",
                                 "ipNetmaskNumber": "255.255.255.0"}),
    (f"ou=hosts,{P}", {"objectClass": "organizationalUnit", "ou": "hosts"}),
    (f"cn=h1,ou=hosts,{P}", {"objectClass": HOST_CLASSES, "cn": ["h1", "web1"],
                             "ipHostNumber": ["10.0.0.1", "10.0.0.11"],
                             "macAddress": "0:0:0:0:0:1", "description": "web server"}),
    (f"cn=h2,ou=hosts,{P}", {"objectClass": HOST_CLASSES, "cn": "h2",
                             "ipHostNumber": "10.0.0.2", "macAddress": "0:0:0:0:0:2"}),
    (f"cn=h3,ou=hosts,{P}", {"objectClass": HOST_CLASSES, "cn": "h3",
                             "ipHostNumber": "10.0.0.3", "macAddress": "0:0:0:0:0:3"}),
    (f"ou=services,{P}", {"objectClass": "organizationalUnit", "ou": "services"}),
    (f"cn=postgres,ou=services,{P}", {"objectClass": "ipService", "cn": "postgres",
                                      "ipServicePort": "5432", "ipServiceProtocol": "tcp"}),
    (f"ou=groups,{P}", {"objectClass": "organizationalUnit", "ou": "groups"}),
    (f"cn=web,ou=groups,{P}", {"objectClass": "groupOfNames", "cn": "web",
                               "member": [f"cn=h1,ou=hosts,{P}", f"cn=h2,ou=hosts,{P}"],
                               "seeAlso": OUTSIDE}),
    (f"cn=ops,ou=groups,{P}", {"objectClass": "posixGroup", "cn": "ops", "gidNumber": "500",
                               "memberUid": ["alice", "bob"]}),
]


@pytest.fixture
def slapd(tmp_path) -> Iterator[Slapd]:
    """A private slapd loaded with the primary subtree; stopped and removed afterwards."""
    with loaded_slapd(tmp_path, PRIMARY) as server:
        yield server


def read(server: Slapd, base: str) -> dict[str, Entry]:
    """The subtree at `base` as the mirror's adapter reads it."""
    directory = connect(server.url, server.bind_dn, server.password)
    try:
        return directory.read(base)
    finally:
        directory.close()


def user(entry: Entry) -> dict[str, list[str]]:
    """User attributes with values sorted, for comparison."""
    return {k: sorted(v) for k, v in entry.user_attributes().items()}


def wait_for(condition: Callable[[], object], what: str, timeout: float = 5.0) -> float:
    """Poll `condition` (every 50 ms) until it is true; the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)
    return time.monotonic() - start


def expected_copy(dn: str, attrs: dict) -> tuple[str, dict[str, list[str]]]:
    """The shadow DN and user attributes the test expects for one primary entry."""
    values = {k.lower(): sorted([v] if isinstance(v, str) else v) for k, v in attrs.items()}
    if dn == P:
        values["ou"] = ["shadow"]
    if "member" in values:
        values["member"] = sorted(rebase_dn(v, P, S) for v in values["member"])
    if "iphostnumber" in values:
        values["iphostnumber"] = sorted(v.replace("10.0.", "10.1.", 1)
                                        for v in values["iphostnumber"])
    return rebase_dn(dn, P, S), values


@contextmanager
def following(mirror: Mirror, interval: float) -> Iterator[threading.Thread]:
    """Run `mirror.follow` in a thread; always stop and join it."""
    stop = threading.Event()
    thread = threading.Thread(target=mirror.follow, args=(interval, stop), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(10)
        assert not thread.is_alive()


def new_mirror(server: Slapd, **options) -> Mirror:
    """A mirror of P into S on `server`, with the address rule."""
    options.setdefault("rules", [ADDRESS_RULE])
    return Mirror(lambda: connect(server.url, server.bind_dn, server.password, timeout=2),
                  P, S, **options)


def test_initial_mirror_equals_the_primary_after_rebasing_and_mapping(slapd) -> None:
    mirror = new_mirror(slapd)
    report = mirror.run_once()
    assert report.ok, report.lines()
    assert (report.added, report.modified, report.deleted) == (len(PRIMARY), 0, 0)
    shadow = read(slapd, S)
    assert len(shadow) == len(PRIMARY)
    for dn, attrs in PRIMARY:
        shadow_dn, values = expected_copy(dn, attrs)
        assert user(shadow[norm_dn(shadow_dn)]) == values, shadow_dn
    web = shadow[norm_dn(f"cn=web,ou=groups,{S}")]
    assert web.attributes["seealso"] == (OUTSIDE,)  # outside the subtree: kept
    assert sorted(shadow[norm_dn(f"cn=h1,ou=hosts,{S}")].attributes["cn"]) == ["h1", "web1"]
    assert read(slapd, P).keys() == {norm_dn(dn) for dn, _ in PRIMARY}  # primary untouched
    again = mirror.run_once()
    assert (again.added, again.modified, again.renamed, again.deleted) == (0, 0, 0, 0)
    assert mirror.run_once().unchanged
    mirror.close()


def test_each_kind_of_change_propagates_within_the_interval(slapd) -> None:
    interval = 0.2
    mirror = new_mirror(slapd)

    def shadow() -> dict[str, Entry]:
        return read(slapd, S)

    h1, h2, h3 = (norm_dn(f"cn={n},ou=hosts,{S}") for n in ("h1", "h2", "h3"))
    with following(mirror, interval), admin(slapd) as conn:
        wait_for(lambda: len(shadow()) == len(PRIMARY), "initial mirror")
        uuid_h3 = shadow()[h3].uuid
        took = {}

        assert conn.add(f"cn=h4,ou=hosts,{P}", HOST_CLASSES,
                        {"cn": "h4", "ipHostNumber": "10.0.0.4", "macAddress": "0:0:0:0:0:4"})
        took["add"] = wait_for(lambda: norm_dn(f"cn=h4,ou=hosts,{S}") in shadow(), "add")
        assert shadow()[norm_dn(f"cn=h4,ou=hosts,{S}")].attributes["iphostnumber"] == (
            "10.1.0.4",)

        assert conn.modify(f"cn=h2,ou=hosts,{P}", {
            "ipHostNumber": [(MODIFY_REPLACE, ["10.0.0.22", "10.0.0.23"])],
            "description": [(MODIFY_ADD, ["db server"])]})
        took["modify"] = wait_for(
            lambda: user(shadow()[h2]).get("description") == ["db server"]
            and user(shadow()[h2])["iphostnumber"] == ["10.1.0.22", "10.1.0.23"], "modify")

        assert conn.modify_dn(f"cn=h3,ou=hosts,{P}", "cn=h3b")
        h3b = norm_dn(f"cn=h3b,ou=hosts,{S}")
        took["rename"] = wait_for(lambda: h3b in shadow() and h3 not in shadow(), "rename")
        assert shadow()[h3b].uuid == uuid_h3  # renamed in place, not deleted and re-added
        assert shadow()[h3b].attributes["cn"] == ("h3b",)

        assert conn.delete(f"cn=h1,ou=hosts,{P}")
        took["delete"] = wait_for(lambda: h1 not in shadow(), "delete")
        # the group still names the deleted host in the primary (no refint): so does the shadow
        assert f"cn=h1,ou=hosts,{S}" in shadow()[norm_dn(f"cn=web,ou=groups,{S}")].attributes[
            "member"]
    reports = mirror.reports()
    assert all(r.ok for r in reports), [r.line() for r in reports if not r.ok]
    assert sum(r.renamed for r in reports) == 1 and sum(r.deleted for r in reports) == 1
    assert max(took.values()) < interval + 1.5, took


def test_drift_in_the_shadow_is_reported_and_kept_or_reverted(slapd) -> None:
    kept = new_mirror(slapd)
    assert kept.run_once().ok
    h2 = f"cn=h2,ou=hosts,{S}"
    with admin(slapd) as conn:
        assert conn.modify(h2, {"ipHostNumber": [(MODIFY_REPLACE, ["10.9.9.9"])]})
        assert conn.add(f"cn=rogue,ou=hosts,{S}", HOST_CLASSES,
                        {"cn": "rogue", "ipHostNumber": "10.9.9.10", "macAddress": "0:0:0:0:0:9"})
        assert conn.delete(f"cn=postgres,ou=services,{S}")
    report = kept.run_once()
    assert report.ok and "drift 3 kept" in report.line()
    found = {(d.kind, norm_dn(d.dn), d.attribute) for d in report.drift}
    assert found == {("changed", norm_dn(h2), "iphostnumber"),
                     ("extra", norm_dn(f"cn=rogue,ou=hosts,{S}"), None),
                     ("missing", norm_dn(f"cn=postgres,ou=services,{S}"), None)}
    changed = next(d for d in report.drift if d.kind == "changed")
    assert (changed.expected, changed.actual) == (("10.1.0.2",), ("10.9.9.9",))
    assert (report.added, report.modified, report.deleted) == (0, 0, 0)
    shadow = read(slapd, S)
    assert shadow[norm_dn(h2)].attributes["iphostnumber"] == ("10.9.9.9",)
    assert norm_dn(f"cn=rogue,ou=hosts,{S}") in shadow
    # a change in the primary still propagates, and wins where it touches drift
    with admin(slapd) as conn:
        assert conn.modify(f"cn=h2,ou=hosts,{P}", {"ipHostNumber": [(MODIFY_REPLACE,
                                                                     ["10.0.0.42"])]})
    report = kept.run_once()
    assert report.modified == 1 and read(slapd, S)[norm_dn(h2)].attributes["iphostnumber"] == (
        "10.1.0.42",)
    assert norm_dn(f"cn=rogue,ou=hosts,{S}") in read(slapd, S)
    kept.close()

    reverting = new_mirror(slapd, revert_drift=True)
    assert reverting.run_once().ok  # a first round has no memory: it just syncs
    with admin(slapd) as conn:
        assert conn.modify(h2, {"description": [(MODIFY_ADD, ["local edit"])]})
        assert conn.delete(f"cn=lan,ou=networks,{S}")
    report = reverting.run_once()
    assert {(d.kind, d.attribute) for d in report.drift} == {("changed", "description"),
                                                             ("missing", None)}
    assert "drift 2 reverted" in report.line()
    assert (report.added, report.modified) == (1, 1) and report.ok
    shadow = read(slapd, S)
    assert "description" not in shadow[norm_dn(h2)].attributes
    assert norm_dn(f"cn=lan,ou=networks,{S}") in shadow
    assert norm_dn(f"cn=rogue,ou=hosts,{S}") not in shadow
    reverting.close()


def test_server_down_is_reported_and_retried_then_recovered(slapd) -> None:
    mirror = new_mirror(slapd, backoff_initial=0.2, backoff_max=0.8)
    with following(mirror, 0.2) as thread:
        wait_for(lambda: len(read(slapd, S)) == len(PRIMARY), "initial mirror")
        slapd.stop()
        wait_for(lambda: sum(r.error is not None for r in mirror.reports()) >= 4,
                 "four failed rounds", timeout=10)
        assert thread.is_alive()
        errors = [r for r in mirror.reports() if r.error is not None]
        assert all("127.0.0.1" in r.error for r in errors), errors[0].error
        assert [r.retry_in for r in errors[:4]] == [0.2, 0.4, 0.8, 0.8]
        slapd.start()
        with admin(slapd) as conn:
            assert conn.add(f"cn=h9,ou=hosts,{P}", HOST_CLASSES,
                            {"cn": "h9", "ipHostNumber": "10.0.0.9", "macAddress": "0:0:0:0:0:9"})
        wait_for(lambda: norm_dn(f"cn=h9,ou=hosts,{S}") in read(slapd, S), "recovery",
                 timeout=10)
    last_error = max(i for i, r in enumerate(mirror.reports()) if r.error is not None)
    assert any(r.ok and r.added == 1 for r in mirror.reports()[last_error:])


def test_rejected_entries_are_reported_with_dn_and_reason_and_the_rest_applies(slapd) -> None:
    rules = [ADDRESS_RULE, MappingRule("ipServicePort", "5432", "five-four-three-two"),
             MappingRule("ipHostNumber", "10.1.0.3", "", object_class="ipHost")]
    mirror = new_mirror(slapd, rules=rules)
    report = mirror.run_once()
    assert not report.ok and report.added == len(PRIMARY) - 2
    reasons = {f.dn: f.reason for f in report.failures}
    assert set(reasons) == {f"cn=postgres,ou=services,{S}", f"cn=h3,ou=hosts,{S}"}
    assert reasons[f"cn=postgres,ou=services,{S}"].startswith("invalidAttributeSyntax (21): ")
    assert "ipserviceport" in reasons[f"cn=postgres,ou=services,{S}"].lower()
    assert reasons[f"cn=h3,ou=hosts,{S}"] == (
        "objectClassViolation (65): object class 'ipHost' requires attribute 'ipHostNumber'")
    lines = report.lines()
    assert "0 deleted, 2 rejected" in lines[0]
    assert f"rejected cn=h3,ou=hosts,{S}: objectClassViolation (65): object class 'ipHost' " \
           f"requires attribute 'ipHostNumber'" in lines
    shadow = read(slapd, S)
    assert norm_dn(f"cn=h2,ou=hosts,{S}") in shadow
    assert norm_dn(f"cn=h3,ou=hosts,{S}") not in shadow
    mirror.close()


def command(server: Slapd, tmp_path: Path, *extra: str) -> list[str]:
    """The `sdn-shadow ldap mirror` command line for `server` (the installed console script)."""
    secret = tmp_path / "password"
    secret.write_text(server.password + "\n")
    return [str(Path(sys.executable).parent / "sdn-shadow"), "ldap", "mirror",
            "--url", server.url, "--bind-dn", server.bind_dn, "--password-file", str(secret),
            "--primary-base", P, "--shadow-base", S, *extra]


def test_command_once_prints_the_round_and_exit_code(slapd, tmp_path) -> None:
    out = tmp_path / "round.json"
    done = subprocess.run(command(slapd, tmp_path, "--once", "--json", str(out), "--map-regex",
                                  r"ipHost/ipHostNumber=^10\.0\.:10.1."),
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(rf"round 1: {len(PRIMARY)} added, 0 modified, 0 renamed, 0 deleted, "
                        r"0 rejected, drift 0 \(\d+ ms\)\n", done.stdout), done.stdout
    assert json.loads(out.read_text())["added"] == len(PRIMARY)
    assert read(slapd, S)[norm_dn(f"cn=h2,ou=hosts,{S}")].attributes["iphostnumber"] == (
        "10.1.0.2",)

    done = subprocess.run(command(slapd, tmp_path, "--map", "ipServicePort=5432:bad port"),
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("round 1: 0 added, 3 modified, 0 renamed, 0 deleted, 1 rejected")
    assert lines[1].startswith(f"rejected cn=postgres,ou=services,{S} (modify): "
                               f"invalidAttributeSyntax (21): ")


def test_the_docs_ldap_command_line_runs(slapd, tmp_path) -> None:
    """docs/ldap.md's `ldap mirror` line against this slapd (its URL for the docs' port 389),
    from a folder holding the password file it names: one round copies the subtree."""
    [line] = lines_for("test_the_docs_ldap_command_line_runs")
    args = shlex.split(line.replace("ldap://127.0.0.1:389", slapd.url))
    assert [args[args.index(o) + 1] for o in ("--bind-dn", "--primary-base", "--shadow-base")] \
        == [slapd.bind_dn, P, S], line
    (tmp_path / args[args.index("--password-file") + 1]).write_text(slapd.password + "\n")
    args[0] = str(Path(sys.executable).parent / "sdn-shadow")
    done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"round 1: {len(PRIMARY)} added, 0 modified"), done.stdout


def test_command_follow_runs_rounds_until_sigterm(slapd, tmp_path) -> None:
    process = subprocess.Popen(command(slapd, tmp_path, "--follow", "--interval", "0.2"),
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 15
        while not any(line.startswith("round 3:") for line in lines):
            ready, _, _ = select.select([process.stdout], [], [], 0.5)
            assert time.monotonic() < deadline and process.poll() is None, lines
            if ready:
                lines.append(process.stdout.readline())
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
    assert lines[0].startswith(f"round 1: {len(PRIMARY)} added")
    assert lines[2].startswith("round 3: no change")

