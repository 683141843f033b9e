"""LDAP mirroring decisions without a server: DNs, mapping rules, plans, renames, drift."""

from __future__ import annotations

import pytest

from sdn_shadow.directory import command
from sdn_shadow.directory.dn import norm_dn, within
from sdn_shadow.directory.follower import Failure, Mirror, RoundReport
from sdn_shadow.directory.ldap_io import DirectoryError, OpResult
from sdn_shadow.directory.mirror import (
    Add,
    Delete,
    Drift,
    Entry,
    ModDN,
    Modify,
    by_dn,
    drift,
    expected_shadow,
    plan,
    preserve_drift,
    rebase_dn,
    record_after,
    renames,
    same_entry,
    shadow_of,
    simulate,
)
from sdn_shadow.directory.rules import MappingRule, apply_rules, parse_rule

P = "ou=primary,dc=example,dc=org"
S = "ou=shadow,dc=example,dc=org"


def entry(dn: str, **attrs: str | tuple[str, ...]) -> Entry:
    """An entry from keyword attributes (`object_class` for objectClass)."""
    return Entry.of(dn, {("objectClass" if k == "object_class" else k): v
                         for k, v in attrs.items()})


def host(name: str, ip: str, base: str = P, uuid: str | None = None, **more) -> Entry:
    """An ipHost + ieee802Device under ou=hosts of `base`."""
    extra = {"entryUUID": uuid} if uuid else {}
    return entry(f"cn={name},ou=hosts,{base}", object_class=("device", "ipHost", "ieee802Device"),
                 cn=name, ipHostNumber=ip, **extra, **more)


def ou(name: str, base: str = P, uuid: str | None = None) -> Entry:
    """An organizationalUnit under `base` (or the base itself when name is None)."""
    extra = {"entryUUID": uuid} if uuid else {}
    return entry(f"ou={name},{base}", object_class="organizationalUnit", ou=name, **extra)


def primary_tree() -> dict[str, Entry]:
    """A small primary subtree: base, two OUs, two hosts, a group."""
    return by_dn([
        entry(P, object_class="organizationalUnit", ou="primary", entryUUID="u-base"),
        ou("hosts", uuid="u-hosts"), ou("groups", uuid="u-groups"),
        host("h1", "10.0.0.1", uuid="u-h1", macAddress="0:0:0:0:0:1"),
        host("h2", "10.0.0.2", uuid="u-h2"),
        entry(f"cn=web,ou=groups,{P}", object_class="groupOfNames", cn="web", entryUUID="u-web",
              member=(f"cn=h1,ou=hosts,{P}", f"cn=h2,ou=hosts,{P}")),
    ])


# --- DNs -------------------------------------------------------------------


@pytest.mark.parametrize("dn,expected", [
    (f"cn=h1,ou=hosts,{P}", f"cn=h1,ou=hosts,{S}"),
    ("cn=h1, ou=Hosts ,OU=Primary, DC=Example,dc=org", f"cn=h1,ou=Hosts,{S}"),
    (P, S),
    ("OU = primary , dc = example , dc = ORG", S),
    (r"cn=a\,b+uid=x,ou=primary,dc=example,dc=org", rf"cn=a\,b+uid=x,{S}"),
    ("cn=x,ou=prim\\61ry,dc=example,dc=org", f"cn=x,{S}"),
])
def test_rebase_dn(dn, expected) -> None:
    assert rebase_dn(dn, P, S) == expected


@pytest.mark.parametrize("dn", [
    "cn=h1,ou=other,dc=example,dc=org", "dc=example,dc=org", "cn=primary,dc=example,dc=org",
    r"cn=x,ou=primary\,dc=example,dc=org", "",
])
def test_rebase_dn_outside_the_base_raises(dn) -> None:
    with pytest.raises(ValueError, match="not within"):
        rebase_dn(dn, P, S)


def test_rebase_dn_rejects_a_non_dn() -> None:
    with pytest.raises(ValueError, match="not a DN"):
        rebase_dn("just text", P, S)


def test_norm_dn_ignores_case_spacing_escaping_and_ava_order() -> None:
    assert norm_dn("CN=Web Server , OU=Hosts") == norm_dn("cn=web server,ou=hosts")
    assert norm_dn(r"cn=a\2Cb") == norm_dn(r"cn=A\,B")
    assert norm_dn("cn=a+uid=b,dc=x") == norm_dn("UID=b + CN=a,dc=x")
    assert norm_dn("cn=a,dc=x") != norm_dn("cn=a,dc=y")
    assert norm_dn(r"cn=trailing\ ,dc=x") != norm_dn("cn=trailing,dc=x")
    assert within(f"cn=h1,ou=hosts,{P.upper()}", P) and not within(P, f"ou=hosts,{P}")


# --- shadow entries and mapping rules --------------------------------------


def test_shadow_of_rebases_dn_values_inside_only_and_keeps_the_rest() -> None:
    group = entry(f"cn=ops,{P}", object_class=("posixGroup", "groupOfNames"), cn="ops",
                  gidNumber="500", memberUid=("alice", "bob"),
                  member=(f"CN=h2, ou=hosts,{P}", "cn=outside,dc=example,dc=org", "not a dn"),
                  seeAlso="cn=doc,ou=elsewhere,dc=example,dc=org",
                  entryUUID="u", entryCSN="x", modifyTimestamp="20240101000000Z")
    copy = shadow_of(group, P, S)
    assert copy.dn == f"cn=ops,{S}"
    assert copy.attributes == {
        "objectclass": ("posixGroup", "groupOfNames"), "cn": ("ops",), "gidnumber": ("500",),
        "memberuid": ("alice", "bob"),
        "member": (f"CN=h2,ou=hosts,{S}", "cn=outside,dc=example,dc=org", "not a dn"),
        "seealso": ("cn=doc,ou=elsewhere,dc=example,dc=org",),
    }


def test_shadow_of_extra_dn_attributes_and_the_base_entry_naming_value() -> None:
    item = entry(f"cn=x,{P}", object_class="device", cn="x", description=f"cn=y,{P}")
    assert shadow_of(item, P, S).attributes["description"] == (f"cn=y,{P}",)
    assert shadow_of(item, P, S, dn_attributes={"Description"}).attributes["description"] == (
        f"cn=y,{S}",)
    base = entry(P, object_class="organizationalUnit", ou=("Primary", "net-a"), description="d")
    copy = shadow_of(base, P, S)
    assert copy.dn == S
    assert copy.attributes["ou"] == ("net-a", "shadow")
    assert copy.attributes["description"] == ("d",)


def test_mapping_rules_exact_regex_class_restricted_and_dropping() -> None:
    attrs = {"objectclass": ("device", "ipHost"), "iphostnumber": ("10.0.0.1", "10.0.0.9"),
             "description": ("keep", "drop-me"), "cn": ("h1",)}
    rules = [MappingRule("ipHostNumber", r"^10\.0\.", r"10.1.", regex=True),
             MappingRule("description", "drop-me", ""),
             MappingRule("cn", "h1", "never", object_class="ipNetwork"),
             MappingRule("iphostnumber", "10.1.0.9", "10.1.0.1")]
    assert apply_rules(attrs, rules) == {
        "objectclass": ("device", "ipHost"), "iphostnumber": ("10.1.0.1",),
        "description": ("keep",), "cn": ("h1",)}
    assert attrs["iphostnumber"] == ("10.0.0.1", "10.0.0.9")  # input left alone
    assert "description" not in apply_rules({"description": ("x",)},
                                            [MappingRule("description", "x", "")])


def test_shadow_of_applies_rules_after_rebasing() -> None:
    rule = MappingRule("seeAlso", "ou=shadow", "ou=twin", regex=True)
    item = entry(f"cn=x,{P}", object_class="device", cn="x", seeAlso=f"cn=y,{P}")
    assert shadow_of(item, P, S, [rule]).attributes["seealso"] == (
        "cn=y,ou=twin,dc=example,dc=org",)


@pytest.mark.parametrize("text,regex,expected", [
    ("ipHostNumber=10.0.0.1:10.1.0.1", False,
     MappingRule("iphostnumber", "10.0.0.1", "10.1.0.1")),
    (r"ieee802Device/macAddress=0\:0\:0\:0\:0\:1:0:0:0:0:0:2", False,
     MappingRule("macaddress", "0:0:0:0:0:1", "0:0:0:0:0:2", object_class="ieee802device")),
    ("description=old:", False, MappingRule("description", "old", "")),
    (r"ipHostNumber=^10\.0\.(\d+):10.1.\1", True,
     MappingRule("iphostnumber", r"^10\.0\.(\d+)", r"10.1.\1", regex=True)),
])
def test_parse_rule(text, regex, expected) -> None:
    assert parse_rule(text, regex) == expected


@pytest.mark.parametrize("text,regex,message", [
    ("ipHostNumber", False, "expected"), ("ipHostNumber=nocolon", False, "expected"),
    ("=a:b", False, "expected"), ("/cn=a:b", False, "expected"),
    ("cn=(:x", True, "bad pattern"), (r"cn=a:\1", True, "group"),
])
def test_parse_rule_rejects(text, regex, message) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rule(text, regex)


# --- plans -----------------------------------------------------------------


def test_initial_plan_adds_parents_first_and_reaches_the_expected_state() -> None:
    expected = expected_shadow(primary_tree(), P, S)
    ops = plan(expected, {})
    assert all(isinstance(op, Add) for op in ops)
    order = [norm_dn(op.dn) for op in ops]
    for index, key in enumerate(order):
        assert all(not within(key, later) or key == later for later in order[index + 1:])
    assert order[0] == norm_dn(S)
    added = {norm_dn(op.dn): op for op in ops}
    assert added[norm_dn(f"cn=web,ou=groups,{S}")].attributes["member"] == (
        f"cn=h1,ou=hosts,{S}", f"cn=h2,ou=hosts,{S}")
    assert all("entryuuid" not in op.attributes for op in ops)
    result = simulate({}, ops)
    assert result.keys() == expected.keys()
    assert all(same_entry(result[k], expected[k]) for k in expected)


def test_plan_is_empty_when_only_operational_attributes_value_order_and_dn_case_differ() -> None:
    expected = expected_shadow(primary_tree(), P, S)
    shadow = {}
    for key, item in expected.items():
        attrs = {k: tuple(reversed(v)) for k, v in item.attributes.items()}
        if "member" in attrs:
            attrs["member"] = tuple(v.upper().replace(",", ", ") for v in attrs["member"])
        attrs.update(entryuuid=("other",), entrycsn=("csn",), modifytimestamp=("2024",),
                     hassubordinates=("TRUE",), structuralobjectclass=("device",))
        shadow[key] = Entry(item.dn.upper(), attrs)
    assert plan(expected, shadow) == []
    assert drift(expected, shadow) == []


def test_plan_modifies_only_changed_attributes_and_deletes_children_first() -> None:
    expected = expected_shadow(primary_tree(), P, S)
    shadow = dict(expected)
    h1 = norm_dn(f"cn=h1,ou=hosts,{S}")
    shadow[h1] = Entry(shadow[h1].dn, {**shadow[h1].attributes, "iphostnumber": ("10.9.9.9",),
                                       "description": ("stale",)})
    shadow.update(by_dn([ou("old", S), entry(f"cn=x1,ou=old,{S}", object_class="device",
                                             cn="x1")]))
    ops = plan(expected, shadow)
    assert ops == [
        Modify(f"cn=h1,ou=hosts,{S}", {"iphostnumber": ("10.0.0.1",)}, ("description",)),
        Delete(f"cn=x1,ou=old,{S}"), Delete(f"ou=old,{S}"),
    ]
    assert simulate(shadow, ops).keys() == expected.keys()


def test_plan_renames_by_uuid_instead_of_delete_and_add() -> None:
    before = primary_tree()
    known = {e.uuid: rebase_dn(e.dn, P, S) for e in before.values()}
    shadow = expected_shadow(before, P, S)
    after = dict(before)
    old = after.pop(norm_dn(f"cn=h2,ou=hosts,{P}"))
    renamed = Entry(f"cn=h2b,ou=hosts,{P}", {**old.attributes, "cn": ("h2b",)})
    after[norm_dn(renamed.dn)] = renamed
    moves = renames(after, known, P, S)
    assert moves == {f"cn=h2b,ou=hosts,{S}": f"cn=h2,ou=hosts,{S}"}
    expected = expected_shadow(after, P, S)
    ops = plan(expected, shadow, moves)
    assert ops == [ModDN(f"cn=h2,ou=hosts,{S}", f"cn=h2b,ou=hosts,{S}")]
    assert ops[0].new_rdn == "cn=h2b" and ops[0].new_superior is None
    result = simulate(shadow, ops)
    assert all(same_entry(result[k], expected[k]) for k in expected)
    # without memory: delete + add
    assert [type(op) for op in plan(expected, shadow)] == [Add, Delete]


def test_plan_moves_a_subtree_under_a_new_parent_with_one_rename() -> None:
    before = primary_tree()
    known = {e.uuid: rebase_dn(e.dn, P, S) for e in before.values()}
    shadow = expected_shadow(before, P, S)
    after = {}
    for item in before.values():  # ou=hosts becomes ou=machines,ou=site1
        dn = item.dn.replace("ou=hosts,", "ou=machines,ou=site1,")
        attrs = dict(item.attributes)
        if item.uuid == "u-hosts":
            attrs["ou"] = ("machines",)
        if "member" in attrs:
            attrs["member"] = tuple(v.replace("ou=hosts,", "ou=machines,ou=site1,")
                                    for v in attrs["member"])
        after[norm_dn(dn)] = Entry(dn, attrs)
    after.update(by_dn([ou("site1", uuid="u-site1")]))
    expected = expected_shadow(after, P, S)
    ops = plan(expected, shadow, renames(after, known, P, S))
    assert ops[0] == Add(f"ou=site1,{S}", {"objectclass": ("organizationalUnit",),
                                           "ou": ("site1",)})
    assert ops[1] == ModDN(f"ou=hosts,{S}", f"ou=machines,ou=site1,{S}")
    assert ops[1].new_superior == f"ou=site1,{S}"
    assert [type(op) for op in ops[2:]] == [Modify]  # the group's member values
    result = simulate(shadow, ops)
    assert result.keys() == expected.keys()
    assert all(same_entry(result[k], expected[k]) for k in expected)


# --- drift and the record ---------------------------------------------------


def test_drift_reports_extra_missing_and_changed_with_dn_and_attribute() -> None:
    expected = expected_shadow(primary_tree(), P, S)
    shadow = dict(expected)
    h1, h2 = norm_dn(f"cn=h1,ou=hosts,{S}"), norm_dn(f"cn=h2,ou=hosts,{S}")
    shadow[h1] = Entry(shadow[h1].dn, {**shadow[h1].attributes, "iphostnumber": ("10.6.6.6",)})
    del shadow[h2]
    shadow.update(by_dn([ou("rogue", S)]))
    found = drift(expected, shadow)
    assert found == [
        Drift(f"ou=rogue,{S}", "extra"),
        Drift(f"cn=h1,ou=hosts,{S}", "changed", "iphostnumber", ("10.0.0.1",), ("10.6.6.6",)),
        Drift(f"cn=h2,ou=hosts,{S}", "missing"),
    ]
    assert str(found[1]) == (f"changed cn=h1,ou=hosts,{S} iphostnumber: expected "
                             f"['10.0.0.1'], found ['10.6.6.6']")


def test_preserve_drift_keeps_shadow_changes_unless_the_primary_changed_the_same_thing() -> None:
    record = expected_shadow(primary_tree(), P, S)
    h1, h2 = norm_dn(f"cn=h1,ou=hosts,{S}"), norm_dn(f"cn=h2,ou=hosts,{S}")
    shadow = dict(record)
    shadow[h1] = Entry(shadow[h1].dn, {**shadow[h1].attributes, "iphostnumber": ("10.6.6.6",),
                                       "description": ("local",)})
    shadow[h2] = Entry(shadow[h2].dn, {**shadow[h2].attributes, "iphostnumber": ("10.7.7.7",)})
    shadow.update(by_dn([ou("rogue", S)]))
    expected = dict(record)  # the primary changed h2's address only
    expected[h2] = Entry(expected[h2].dn, {**expected[h2].attributes,
                                           "iphostnumber": ("10.0.0.22",)})
    target = preserve_drift(expected, record, shadow)
    ops = plan(target, shadow)
    assert ops == [Modify(f"cn=h2,ou=hosts,{S}", {"iphostnumber": ("10.0.0.22",)})]
    assert plan(expected, shadow)[-1] == Delete(f"ou=rogue,{S}")  # what reverting would do


def test_record_after_keeps_the_previous_state_for_failed_operations() -> None:
    previous = expected_shadow(primary_tree(), P, S)
    expected = dict(previous)
    h1 = norm_dn(f"cn=h1,ou=hosts,{S}")
    expected[h1] = Entry(expected[h1].dn, {**expected[h1].attributes, "description": ("x",)})
    new = host("h3", "10.0.0.3", S)
    expected[norm_dn(new.dn)] = new
    record = record_after(expected, previous, [Add(new.dn, new.attributes),
                                               Modify(expected[h1].dn, {"description": ("x",)})])
    assert norm_dn(new.dn) not in record
    assert record[h1] == previous[h1]
    assert record_after(expected, previous, []) == expected


# --- reports, the round loop with an in-memory directory, the command -------


def test_round_report_lines() -> None:
    report = RoundReport(3, 0.0, 0.012, added=2, modified=1, deleted=1,
                         failures=(Failure("cn=x,ou=s", "add", "objectClassViolation (65): no"),),
                         drift=(Drift("ou=r,ou=s", "extra"),), reverted=True)
    assert report.lines() == [
        "round 3: 2 added, 1 modified, 0 renamed, 1 deleted, 1 rejected, drift 1 reverted "
        "(12 ms)", "rejected cn=x,ou=s: objectClassViolation (65): no",
        "drift: extra entry ou=r,ou=s"]
    assert not report.ok and report.to_json()["failures"][0]["dn"] == "cn=x,ou=s"
    down = RoundReport(4, 0.0, 0.001, error="cannot reach ldap://x:1", retry_in=2.0)
    assert down.line() == "round 4: error: cannot reach ldap://x:1; retry in 2 s (1 ms)"


class MemoryDirectory:
    """A directory held in memory; `down` makes every call fail like a dead server."""

    def __init__(self, entries: dict[str, Entry], reject: str | None = None) -> None:
        self.entries = by_dn(entries.values())
        self.reject = reject
        self.down = False
        self.reads = 0

    def read(self, base: str) -> dict[str, Entry]:
        self._check()
        self.reads += 1
        return {k: e for k, e in self.entries.items() if within(k, base)}

    def fingerprint(self, base: str) -> str:
        self._check()
        return repr(sorted((k, sorted(e.attributes.items())) for k, e in self.entries.items()
                           if within(k, base)))

    def apply(self, ops) -> list[OpResult]:
        self._check()
        results = []
        for op in ops:
            if self.reject and norm_dn(op.dn) == norm_dn(self.reject):
                results.append(OpResult(op, False, 65, "objectClassViolation", "refused"))
            else:
                self.entries = simulate(self.entries, [op])
                results.append(OpResult(op, True, 0, "success"))
        return results

    def close(self) -> None:
        pass

    def _check(self) -> None:
        if self.down:
            raise DirectoryError("cannot reach memory: down")


def test_mirror_rounds_follow_renames_report_drift_and_reject() -> None:
    server = MemoryDirectory({**primary_tree(), **by_dn([entry(
        "dc=example,dc=org", object_class="dcObject", dc="example")])},
        reject=f"cn=h2,ou=hosts,{S}")
    mirror = Mirror(lambda: server, P, S)
    first = mirror.run_once(0.0)
    assert (first.added, len(first.failures)) == (5, 1)
    assert first.failures[0].dn == f"cn=h2,ou=hosts,{S}"
    reads = server.reads
    again = mirror.run_once(1.0)  # the round after one that wrote re-reads: still rejected
    assert (again.added, again.unchanged, len(again.failures)) == (0, False, 1)
    assert server.reads == reads + 2
    assert mirror.run_once(1.5).unchanged and server.reads == reads + 2  # nothing read
    server.reject = None
    h1 = server.entries.pop(norm_dn(f"cn=h1,ou=hosts,{P}"))
    moved = Entry(f"cn=h1b,ou=hosts,{P}", {**h1.attributes, "cn": ("h1b",)})
    server.entries[norm_dn(moved.dn)] = moved
    second = mirror.run_once(2.0)
    assert (second.added, second.renamed, second.failures) == (1, 1, ())
    assert norm_dn(f"cn=h1b,ou=hosts,{S}") in server.entries
    rogue = ou("rogue", S)
    server.entries[norm_dn(rogue.dn)] = rogue
    third = mirror.run_once(3.0)
    assert third.drift == (Drift(rogue.dn, "extra"),) and third.deleted == 0
    mirror.revert_drift = True
    server.entries[norm_dn(f"cn=new,{P}")] = entry(f"cn=new,{P}", object_class="device", cn="new")
    fourth = mirror.run_once(4.0)
    assert fourth.drift == (Drift(rogue.dn, "extra"),) and (fourth.added, fourth.deleted) == (1, 1)
    assert norm_dn(rogue.dn) not in server.entries


def test_a_missing_primary_base_is_an_error_not_an_empty_primary() -> None:
    tree = primary_tree()
    server = MemoryDirectory(tree)
    mirror = Mirror(lambda: server, P, S)
    assert mirror.run_once().added == 6
    server.entries = {k: e for k, e in server.entries.items() if not within(k, P)}
    report = mirror.run_once()
    assert report.error == f"primary base {P} not found: nothing mirrored"
    assert len([k for k in server.entries if within(k, S)]) == 6  # shadow left alone


class StopAtOnce:
    """A stop event whose wait() returns at once, keeping the timeouts it was given."""

    def __init__(self) -> None:
        self.stopped = False
        self.waits: list[float] = []

    def is_set(self) -> bool:
        return self.stopped

    def set(self) -> None:
        self.stopped = True

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        return self.stopped


def test_follow_backs_off_while_down_and_recovers() -> None:
    server = MemoryDirectory(primary_tree())
    server.down = True
    reports: list[RoundReport] = []
    stop = StopAtOnce()

    def seen(report: RoundReport) -> None:
        reports.append(report)
        if len(reports) == 4:
            server.down = False
        if len(reports) == 7:
            stop.set()

    mirror = Mirror(lambda: server, P, S, backoff_initial=0.01, backoff_max=0.03,
                    on_report=seen)
    mirror.follow(0.01, stop)
    assert [r.retry_in for r in reports[:4]] == [0.01, 0.02, 0.03, 0.03]
    assert all("down" in r.error for r in reports[:4])
    assert reports[4].ok and reports[4].added == 6
    assert reports[5].line().startswith("round 6: 0 added") and reports[6].unchanged
    assert stop.waits == [0.01, 0.02, 0.03, 0.03, 0.01, 0.01, 0.01]  # backoff, then interval


def test_command_usage_errors_exit_2(tmp_path, capsys) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    empty = tmp_path / "empty"
    empty.write_text("")
    base = ["ldap", "mirror", "--url", "ldap://127.0.0.1:1", "--bind-dn", "cn=admin,dc=x",
            "--primary-base", P, "--shadow-base", S, "--password-file", str(secret)]
    cases = [
        (["--password-file", str(tmp_path / "missing")], "--password-file"),
        (["--password-file", str(empty)], "empty"),
        (["--url", "http://host:1"], "--url"), (["--url", "ldap://h:99999"], "--url"),
        (["--shadow-base", f"ou=x,{P}"], "overlap"), (["--map", "cn"], "--map"),
        (["--map-regex", "cn=(:x"], "bad pattern"),
        (["--interval", "0"], "--interval"),
        (["--json", str(tmp_path / "no" / "such.json")], "--json"),
        (["--primary-base", "nonsense"], "not a DN"),
        (["--ca-file", str(tmp_path / "missing.pem")], "--ca-file"),
        (["--ca-file", str(secret)], "--ca-file"),  # not PEM
    ]
    for extra, message in cases:
        assert command.main(base + extra) == 2, extra
        err = capsys.readouterr().err
        assert err.startswith("sdn-shadow ldap mirror: error: ") and message in err, err
    with pytest.raises(SystemExit) as exit_info:
        command.main(base + ["--once", "--follow"])
    assert exit_info.value.code == 2


def test_ldaps_verifies_certificates_by_default() -> None:
    import ssl

    from sdn_shadow.directory.ldap_io import unbound, verified_tls

    tls = unbound("ldaps://127.0.0.1:636", "cn=a", "pw", 1).server.tls
    assert tls.validate == ssl.CERT_REQUIRED and tls.ca_certs_file is None
    assert verified_tls("/etc/hostname").ca_certs_file == "/etc/hostname"
