"""LDAP roles without a real server: escaping, refusals, membership, cache, outages, settings."""

from __future__ import annotations

import pytest
from ldap3 import MOCK_SYNC, MODIFY_ADD, Connection, Server
from ldap3.core.exceptions import LDAPSocketOpenError

from sdn_shadow.api.auth import Holder
from sdn_shadow.api.ldap_roles import (
    BINDS_AT_ONCE,
    FAIL_LIMIT,
    FAIL_WINDOW,
    LOCKOUT_SECONDS,
    REFUSED_SECONDS,
    LdapRoles,
    LdapRoleSettings,
    LdapUnavailable,
    LoginThrottled,
    escape_dn_value,
)
from sdn_shadow.directory.dn import norm_dn, parent_dn, rdn_avas, split_dn

BASE = "dc=example,dc=org"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
TEMPLATE = f"uid={{user}},{PEOPLE}"
GROUP_DNS = {"viewer": f"cn=noc,{GROUPS}", "operator": f"cn=operators,{GROUPS}",
             "admin": f"cn=netadmins,{GROUPS}"}
PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw",
             "root,ou=svc": "root-pw"}


def settings(**changes) -> LdapRoleSettings:
    """Settings for the mock directory, with `changes`."""
    values = {"url": "ldap://127.0.0.1:389", "user_dn": TEMPLATE, "groups": dict(GROUP_DNS)}
    values.update(changes)
    return LdapRoleSettings(**values)


class MockDirectory:
    """An ldap3 MOCK_SYNC directory with people and groups; counts the connections made."""

    def __init__(self) -> None:
        self.server = Server("mock")
        self.binds: list[str] = []
        admin = Connection(self.server, f"cn=admin,{BASE}", "x", client_strategy=MOCK_SYNC)
        admin.strategy.add_entry(f"cn=admin,{BASE}", {"objectClass": "person", "cn": "admin",
                                                      "sn": "admin", "userPassword": "x"})
        for user, password in PASSWORDS.items():
            dn = f"uid={escape_dn_value(user)},{PEOPLE}"
            admin.strategy.add_entry(dn, {"objectClass": ["inetOrgPerson"], "uid": user,
                                          "cn": user, "sn": user, "userPassword": password})
        # a privileged account below people: `root,ou=svc` must not be able to reach it
        admin.strategy.add_entry(f"uid=root,ou=svc,{PEOPLE}", {
            "objectClass": ["inetOrgPerson"], "uid": "root", "cn": "root", "sn": "root",
            "userPassword": "svc-pw"})
        admin.strategy.add_entry(f"cn=netadmins,{GROUPS}", {
            "objectClass": "groupOfNames", "cn": "netadmins",
            "member": ["UID=Alice, OU=People,DC=Example,dc=org",  # case and spacing differ
                       f"uid=root,ou=svc,{PEOPLE}"]})
        admin.strategy.add_entry(f"cn=noc,{GROUPS}", {
            "objectClass": "groupOfUniqueNames", "cn": "noc",
            "uniqueMember": [f"uid=bob,{PEOPLE}#'0101'B", f"uid=alice,{PEOPLE}"]})
        admin.strategy.add_entry(f"cn=operators,{GROUPS}", {
            "objectClass": "posixGroup", "cn": "operators", "gidNumber": "500",
            "memberUid": ["carol", "erin"]})

    def connect(self, _settings: LdapRoleSettings, dn: str, password: str) -> Connection:
        """A mock connection (the `connect` hook of LdapRoles)."""
        self.binds.append(dn)
        return Connection(self.server, dn, password, client_strategy=MOCK_SYNC,
                          raise_exceptions=False)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def directory() -> MockDirectory:
    return MockDirectory()


def roles_for(directory: MockDirectory, clock: Clock | None = None, **changes) -> LdapRoles:
    """LdapRoles on the mock directory."""
    return LdapRoles(settings(**changes), clock=clock or Clock(), connect=directory.connect)


# --- escaping -------------------------------------------------------------------------------

NASTY = ["x,ou=admins", "root,ou=svc", "*", "a+cn=b", 'q"uote', "back\\slash", "semi;colon",
         "<angle>", "eq=ual", "#hash", " lead", "trail ", "nul\x00byte", "tab\tnew\nline",
         "ümlaut", "x,ou=people,dc=example,dc=org"]


@pytest.mark.parametrize("user", NASTY)
def test_a_user_name_stays_one_attribute_value_of_the_dn(user) -> None:
    dn = LdapRoles(settings()).user_dn(user)
    assert len(split_dn(dn)) == len(split_dn(TEMPLATE))
    assert norm_dn(parent_dn(dn)) == norm_dn(PEOPLE)
    assert rdn_avas(split_dn(dn)[0]) == [("uid", user)]  # decodes back to exactly the name


def test_escaping_follows_rfc_4514() -> None:
    assert escape_dn_value("x,ou=admins") == "x\\,ou\\=admins"
    assert escape_dn_value("*") == "*"  # not special in a DN (only in filters)
    assert escape_dn_value("#a b ") == "\\#a b\\ "
    assert escape_dn_value(" a#") == "\\ a#"
    assert escape_dn_value('a+b"c\\d;e<f>') == 'a\\+b\\"c\\\\d\\;e\\<f\\>'
    assert escape_dn_value("a\x00b\x7f") == "a\\00b\\7f"


def test_an_injected_dn_component_does_not_reach_another_entry(directory) -> None:
    roles = roles_for(directory)
    # unescaped this would be uid=root,ou=svc,ou=people,... (an admin with password svc-pw)
    assert roles.holder("root,ou=svc", "svc-pw") is None
    assert directory.binds[-1] == f"uid=root\\,ou\\=svc,{PEOPLE}"
    assert roles.holder("*", "alice-pw") is None
    assert directory.binds[-1] == f"uid=*,{PEOPLE}"


# --- refusals without asking the server -----------------------------------------------------

@pytest.mark.parametrize(("user", "password"), [("alice", ""), ("", "alice-pw"), ("", "")])
def test_an_empty_user_or_password_is_refused_without_contacting_the_server(
        user, password) -> None:
    def connect(*_args) -> Connection:
        raise AssertionError("the server must not be contacted")

    roles = LdapRoles(settings(), connect=connect)
    assert roles.holder(user, password) is None


# --- membership -----------------------------------------------------------------------------

def test_each_kind_of_group_grants_its_role_and_the_highest_wins(directory) -> None:
    roles = roles_for(directory)
    assert roles.holder("alice", "alice-pw") == Holder("alice", "admin")  # also in noc
    assert roles.holder("bob", "bob-pw") == Holder("bob", "viewer")  # uniqueMember with #'..'B
    assert roles.holder("carol", "carol-pw") == Holder("carol", "operator")  # memberUid
    assert roles.holder("dave", "dave-pw") is None  # bound, but in no group


def test_highest_role_is_looked_up_first(directory) -> None:
    reads: list[str] = []
    original = directory.connect

    def connect(settings_, dn, password):
        conn = original(settings_, dn, password)
        search = conn.search

        def recorded(base, *args, **kwargs):
            reads.append(base)
            return search(base, *args, **kwargs)
        conn.search = recorded
        return conn

    roles = LdapRoles(settings(), connect=connect)
    assert roles.holder("alice", "alice-pw").role == "admin"
    assert reads == [GROUP_DNS["admin"]]  # no need to read the lower groups


def test_wrong_password_and_unknown_user_are_refused(directory) -> None:
    roles = roles_for(directory)
    assert roles.holder("alice", "bob-pw") is None
    assert roles.holder("mallory", "alice-pw") is None


def test_a_missing_or_unreadable_group_grants_nothing(directory) -> None:
    groups = dict(GROUP_DNS, admin=f"cn=gone,{GROUPS}")
    roles = roles_for(directory, groups=groups)
    assert roles.holder("alice", "alice-pw") == Holder("alice", "viewer")  # from noc only
    only_admin = roles_for(directory, groups={"admin": f"cn=gone,{GROUPS}"})
    assert only_admin.holder("alice", "alice-pw") is None


def test_member_uid_matching_is_ascii_and_case_insensitive() -> None:
    from sdn_shadow.api.ldap_roles import _same_uid

    assert _same_uid("carol", "carol") and _same_uid("carol", "CAROL")
    assert not _same_uid("carol", "caro") and not _same_uid("karl", "\u212aarl")  # Kelvin K


# --- cache ----------------------------------------------------------------------------------

def test_a_success_is_cached_for_cache_seconds_then_asked_again(directory) -> None:
    clock = Clock()
    roles = roles_for(directory, clock, cache_seconds=30)
    assert roles.holder("alice", "alice-pw").role == "admin"
    assert len(directory.binds) == 1
    clock.now += 29.9
    assert roles.holder("alice", "alice-pw").role == "admin"
    assert len(directory.binds) == 1  # served from the cache
    clock.now += 0.2
    assert roles.holder("alice", "alice-pw").role == "admin"
    assert len(directory.binds) == 2  # expired: bound again


def test_the_cache_needs_the_same_password_and_never_holds_it(directory) -> None:
    clock = Clock()
    roles = roles_for(directory, clock)
    assert roles.holder("alice", "alice-pw").role == "admin"
    assert roles.holder("alice", "wrong") is None  # not answered from alice's cache entry
    assert len(directory.binds) == 2
    assert "alice-pw" not in repr(roles._cache) and "alice-pw" not in repr(vars(roles))


def test_a_refused_password_is_remembered_briefly_a_missing_role_is_not(directory) -> None:
    clock = Clock()
    roles = roles_for(directory, clock)
    assert roles.holder("alice", "wrong") is None
    assert roles.holder("alice", "wrong") is None  # from memory: no bind
    assert roles.holder("dave", "dave-pw") is None
    assert roles.holder("dave", "dave-pw") is None  # bound, no role: asked again each time
    assert len(directory.binds) == 3
    clock.now += REFUSED_SECONDS
    assert roles.holder("alice", "wrong") is None
    assert len(directory.binds) == 4


def test_refusals_lock_the_user_out_for_a_while_and_a_success_starts_the_count_again(
        directory) -> None:
    clock = Clock()
    roles = roles_for(directory, clock)
    for i in range(FAIL_LIMIT - 1):
        assert roles.holder("alice", f"guess{i}") is None
    assert roles.holder("alice", "alice-pw") == Holder("alice", "admin")
    for i in range(FAIL_LIMIT):  # the success cleared the earlier refusals
        assert roles.holder("alice", f"again{i}") is None
    binds = len(directory.binds)
    with pytest.raises(LoginThrottled, match=r"too many refused logins for 'alice': try again "
                                             r"in 30 s") as caught:
        roles.holder("alice", "another")
    assert caught.value.retry_after == LOCKOUT_SECONDS
    with pytest.raises(LoginThrottled):  # even the right password waits: no oracle
        roles.holder("alice", "alice-pw2")
    assert roles.holder("bob", "bob-pw") is not None  # other users are not locked
    assert len(directory.binds) == binds + 1
    clock.now += LOCKOUT_SECONDS
    assert roles.holder("alice", "alice-pw") == Holder("alice", "admin")


def test_refusals_outside_the_window_do_not_add_up(directory) -> None:
    clock = Clock()
    roles = roles_for(directory, clock)
    for i in range(3 * FAIL_LIMIT):
        assert roles.holder("alice", f"slow{i}") is None
        clock.now += FAIL_WINDOW / (FAIL_LIMIT - 1)


def test_binds_at_once_are_bounded(directory) -> None:
    import threading

    roles = roles_for(directory, timeout=0.05)
    started, release = threading.Event(), threading.Event()
    inner = directory.connect

    def slow(settings, dn, password):
        started.set()
        release.wait(5)
        return inner(settings, dn, password)

    roles.connect = slow
    threads = [threading.Thread(target=roles.holder, args=(f"u{i}", "pw"))
               for i in range(BINDS_AT_ONCE)]
    for t in threads:
        t.start()
    started.wait(5)
    try:
        with pytest.raises(LdapUnavailable, match="logins already waiting"):
            roles.holder("alice", "alice-pw")
    finally:
        release.set()
        for t in threads:
            t.join(5)


def test_remembered_refusals_are_bounded(directory, monkeypatch) -> None:
    import sdn_shadow.api.ldap_roles as module

    monkeypatch.setattr(module, "REMEMBERED", 8)
    roles = roles_for(directory)
    for i in range(50):
        roles.holder(f"user{i}", "wrong")
    assert max(len(roles._refused), len(roles._failures)) <= 8


def test_a_new_membership_counts_at_once_and_forget_empties_the_cache(directory) -> None:
    roles = roles_for(directory)
    assert roles.holder("dave", "dave-pw") is None
    admin = Connection(directory.server, f"cn=admin,{BASE}", "x", client_strategy=MOCK_SYNC)
    assert admin.bind()
    assert admin.modify(GROUP_DNS["operator"], {"memberUid": [(MODIFY_ADD, ["dave"])]})
    assert roles.holder("dave", "dave-pw") == Holder("dave", "operator")  # no stale None
    assert roles.holder("dave", "dave-pw") == Holder("dave", "operator")
    assert len(directory.binds) == 2
    roles.forget()
    assert roles.holder("dave", "dave-pw") == Holder("dave", "operator")
    assert len(directory.binds) == 3


def test_no_cache_when_cache_seconds_is_zero(directory) -> None:
    roles = roles_for(directory, cache_seconds=0)
    roles.holder("alice", "alice-pw")
    roles.holder("alice", "alice-pw")
    assert len(directory.binds) == 2


# --- outages (fakes; real sockets: tests/system/test_ldap_roles_sockets.py) -----------------

def test_a_busy_server_is_unavailable_not_a_refusal() -> None:
    class Busy:
        result = {"result": 51, "description": "busy"}

        def bind(self) -> bool:
            return False

        def unbind(self) -> None:
            pass

    roles = LdapRoles(settings(), connect=lambda *_: Busy())
    with pytest.raises(LdapUnavailable, match="busy"):
        roles.holder("alice", "alice-pw")


def test_a_cached_answer_outlives_an_outage_until_it_expires(directory) -> None:
    clock = Clock()
    down = False
    original = directory.connect

    def connect(settings_, dn, password):
        if down:
            raise LDAPSocketOpenError("socket connection error while opening: refused")
        return original(settings_, dn, password)

    roles = LdapRoles(settings(), clock=clock, connect=connect)
    assert roles.holder("alice", "alice-pw").role == "admin"
    down = True
    clock.now += 10
    assert roles.holder("alice", "alice-pw").role == "admin"
    with pytest.raises(LdapUnavailable, match="127.0.0.1:389"):
        roles.holder("bob", "bob-pw")
    clock.now += 30
    with pytest.raises(LdapUnavailable):
        roles.holder("alice", "alice-pw")
    down = False
    assert roles.holder("alice", "alice-pw").role == "admin"


# --- settings -------------------------------------------------------------------------------

def test_good_settings_have_no_errors() -> None:
    assert settings().check() == []
    assert settings(url="ldaps://ldap.example.org", groups={"admin": GROUP_DNS["admin"]},
                    user_dn="cn={user} (staff),ou=people,dc=example,dc=org").check() == []


@pytest.mark.parametrize(("changes", "key", "reason"), [
    ({"url": "http://127.0.0.1:389"}, "url", "ldap://"),
    ({"url": "ldap://127.0.0.1:389/"}, "url", "no path"),
    ({"url": "ldap://"}, "url", "ldap://"),
    ({"url": "ldap://127.0.0.1:99999"}, "url", "port"),
    ({"url": "ldap://127.0.0.1:0"}, "url", "port"),
    ({"url": "ldap://127.0.0.1:x"}, "url", "port"),
    ({"user_dn": f"uid=alice,{PEOPLE}"}, "user_dn", "exactly once, not 0"),
    ({"user_dn": "uid={user},ou={user},dc=org"}, "user_dn", "exactly once, not 2"),
    ({"user_dn": "{user}"}, "user_dn", "attribute value"),
    ({"user_dn": "uid={user},,dc=org"}, "user_dn", "attribute value"),
    ({"groups": {}}, "groups", "at least one"),
    ({"groups": {"root": GROUP_DNS["admin"]}}, "groups.root", "viewer, operator, admin"),
    ({"groups": {"admin": "not a dn"}}, "groups.admin", "DN"),
    ({"timeout": 0}, "timeout", "more than 0"),
    ({"cache_seconds": -1}, "cache_seconds", "0 (no cache)"),
])
def test_bad_settings_name_the_key_and_reason(changes, key, reason) -> None:
    errors = settings(**changes).check()
    assert [k for k, _ in errors] == [key], errors
    assert reason in errors[0][1]
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        LdapRoles(settings(**changes))


def test_one_account_is_one_name_whatever_case_is_typed(directory) -> None:
    from sdn_shadow.api.ldap_roles import user_name

    assert user_name(" Alice ") == user_name("ALICE") == "alice"
    roles = roles_for(directory, Clock())
    found = [roles.holder(typed, "alice-pw") for typed in ("alice", "Alice", "ALICE")]
    assert {h.name for h in found if h is not None} <= {"alice"}
    assert found[0] == Holder("alice", "admin")


def test_changing_the_case_does_not_escape_the_login_throttle(directory) -> None:
    roles = roles_for(directory, Clock())
    spellings = ["alice", "Alice", "ALICE", "aLiCe"]
    for i in range(FAIL_LIMIT):
        assert roles.holder(spellings[i % len(spellings)], f"guess{i}") is None
    for typed in spellings:
        with pytest.raises(LoginThrottled):
            roles.holder(typed, "another")


def test_passwords_in_the_clear_are_named() -> None:
    from sdn_shadow.api.ldap_roles import cleartext_warnings

    assert cleartext_warnings("ldaps://ldap.example.org", https=True) == []
    [basic] = cleartext_warnings("ldaps://ldap.example.org", https=False)
    assert basic.startswith("api.ldap without api.tls")
    [plain] = cleartext_warnings("LDAP://ldap.example.org", https=True)
    assert "use ldaps://" in plain
