"""LDAP roles against a real slapd: each kind of group, refusals, injection, outage, recovery."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from ldap3 import MODIFY_ADD, MODIFY_DELETE, NONE, Connection, Server

from sdn_shadow.api.auth import Holder
from sdn_shadow.api.ldap_roles import LdapRoles, LdapUnavailable, connect_ldap
from sdn_shadow.config.model import LdapRoleSettings
from tests.slapd import Slapd, admin, loaded_slapd

pytestmark = pytest.mark.integration

SUFFIX = "dc=example,dc=org"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
GROUP_DNS = {"viewer": f"cn=noc,{GROUPS}", "operator": f"cn=operators,{GROUPS}",
             "admin": f"cn=netadmins,{GROUPS}"}
PASSWORDS = {"alice": "alice-secret", "bob": "bob-secret", "carol": "carol-secret",
             "dave": "dave-secret"}
SERVICE = f"uid=root,ou=svc,{PEOPLE}"


def person(uid: str) -> tuple[str, dict]:
    """An inetOrgPerson with a (clear text) password."""
    return f"uid={uid},{PEOPLE}", {"objectClass": "inetOrgPerson", "uid": uid, "cn": uid,
                                   "sn": uid, "userPassword": PASSWORDS[uid]}


DIRECTORY: list[tuple[str, dict]] = [
    (PEOPLE, {"objectClass": "organizationalUnit", "ou": "people"}),
    (GROUPS, {"objectClass": "organizationalUnit", "ou": "groups"}),
    *(person(uid) for uid in PASSWORDS),
    (f"ou=svc,{PEOPLE}", {"objectClass": "organizationalUnit", "ou": "svc"}),
    (SERVICE, {"objectClass": "inetOrgPerson", "uid": "root", "cn": "root", "sn": "root",
               "userPassword": "root-secret"}),  # only reachable by injecting ",ou=svc"
    (GROUP_DNS["admin"], {"objectClass": "groupOfNames", "cn": "netadmins",
                          "member": [f"uid=alice,{PEOPLE}", SERVICE]}),
    (GROUP_DNS["viewer"], {"objectClass": "groupOfNames", "cn": "noc",
                           "member": [f"uid=bob,{PEOPLE}", f"UID=Alice, OU=People,{SUFFIX}"]}),
    (GROUP_DNS["operator"], {"objectClass": "posixGroup", "cn": "operators", "gidNumber": "500",
                             "memberUid": ["carol"]}),
]


@pytest.fixture
def slapd(tmp_path) -> Iterator[Slapd]:
    """A private slapd with people and groups; stopped and removed afterwards."""
    with loaded_slapd(tmp_path, DIRECTORY) as server:
        yield server


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def roles_on(server: Slapd, clock: Clock | None = None, binds: list[str] | None = None
             ) -> LdapRoles:
    """LdapRoles on `server` with the real ldap3 connection, counting binds in `binds`."""
    def connect(settings: LdapRoleSettings, dn: str, password: str) -> Connection:
        if binds is not None:
            binds.append(dn)
        return connect_ldap(settings, dn, password)

    settings = LdapRoleSettings(server.url, f"uid={{user}},{PEOPLE}", dict(GROUP_DNS),
                                timeout=2.0, cache_seconds=30.0)
    return LdapRoles(settings, clock=clock or Clock(), connect=connect)


def test_roles_come_from_each_kind_of_group(slapd) -> None:
    roles = roles_on(slapd)
    assert roles.holder("alice", "alice-secret") == Holder("alice", "admin")  # and in noc
    assert roles.holder("bob", "bob-secret") == Holder("bob", "viewer")
    assert roles.holder("carol", "carol-secret") == Holder("carol", "operator")
    assert roles.holder("dave", "dave-secret") is None  # bound, but in no group
    # uid is case-insensitive for the bind; membership follows it
    assert roles.holder("ALICE", "alice-secret") == Holder("alice", "admin")  # one account
    assert roles.holder("Carol", "carol-secret") == Holder("carol", "operator")


def test_wrong_empty_and_injected_credentials_are_refused(slapd) -> None:
    binds: list[str] = []
    roles = roles_on(slapd, binds=binds)
    assert roles.holder("alice", "bob-secret") is None
    assert roles.holder("mallory", "alice-secret") is None
    assert roles.holder("alice", "") is None
    assert roles.holder("", "alice-secret") is None
    assert binds == [f"uid=alice,{PEOPLE}", f"uid=mallory,{PEOPLE}"]  # empty: never sent
    for user in ("alice,ou=people", f"alice,{PEOPLE}", "*", "alice)(uid=*", "alice+cn=x"):
        assert roles.holder(user, "alice-secret") is None, user
    assert roles.holder("root,ou=svc", "root-secret") is None  # not uid=root,ou=svc,...
    assert binds[-1] == f"uid=root\\,ou\\=svc,{PEOPLE}"
    direct = Connection(Server(slapd.url, get_info=NONE), SERVICE, "root-secret",
                        receive_timeout=5)
    assert direct.bind()  # the entry exists and is an admin: only the escaping keeps it out
    direct.unbind()


def test_slapd_down_is_unavailable_and_back_up_works_again(slapd) -> None:
    clock = Clock()
    binds: list[str] = []
    roles = roles_on(slapd, clock, binds)
    assert roles.holder("alice", "alice-secret") == Holder("alice", "admin")
    slapd.stop()
    clock.now += 10
    assert roles.holder("alice", "alice-secret") == Holder("alice", "admin")  # cached
    assert len(binds) == 1
    start = time.monotonic()
    with pytest.raises(LdapUnavailable) as caught:
        roles.holder("bob", "bob-secret")
    assert time.monotonic() - start < 2
    assert slapd.url in str(caught.value) and "refused" in str(caught.value).lower()
    clock.now += 30  # alice's answer expires: she needs the server too
    with pytest.raises(LdapUnavailable, match=slapd.url):
        roles.holder("alice", "alice-secret")
    slapd.restart()
    assert roles.holder("bob", "bob-secret") == Holder("bob", "viewer")  # nothing stale
    assert roles.holder("alice", "alice-secret") == Holder("alice", "admin")
    assert roles.holder("alice", "wrong") is None


def test_membership_changes_count_once_the_cache_expires(slapd) -> None:
    clock = Clock()
    roles = roles_on(slapd, clock)
    assert roles.holder("dave", "dave-secret") is None
    assert roles.holder("bob", "bob-secret") == Holder("bob", "viewer")
    with admin(slapd) as conn:
        assert conn.modify(GROUP_DNS["operator"], {"memberUid": [(MODIFY_ADD, ["dave"])]})
        assert conn.modify(GROUP_DNS["viewer"], {"member": [(MODIFY_DELETE,
                                                             [f"uid=bob,{PEOPLE}"])]})
    assert roles.holder("dave", "dave-secret") == Holder("dave", "operator")  # None not cached
    assert roles.holder("bob", "bob-secret") == Holder("bob", "viewer")  # cached for now
    clock.now += 31
    assert roles.holder("bob", "bob-secret") is None


def test_the_api_takes_ldap_users_with_roles_from_their_groups(slapd) -> None:
    from fastapi.testclient import TestClient

    from sdn_shadow.api.auth import TokenBook
    from sdn_shadow.api.rest import PREFIX, create_app
    from tests.component.test_rest_api import Api

    api = Api()
    http = TestClient(create_app(api.service, TokenBook(), roles_on(slapd)))
    r = http.get(PREFIX + "/networks", auth=("bob", "bob-secret"))
    assert r.status_code == 200 and r.json()[0]["name"] == "tenant-a"
    r = http.put(PREFIX + "/networks/tenant-a/clients/h1", json={"path": "shadow"},
                 auth=("bob", "bob-secret"))
    assert r.status_code == 403
    assert r.json()["errors"][0]["reason"] == "bob is viewer; this needs operator"
    r = http.put(PREFIX + "/networks/tenant-a/clients/h1", json={"path": "shadow"},
                 auth=("carol", "carol-secret"))
    assert r.status_code == 200 and r.json()["path"] == "shadow"
    assert http.get(PREFIX + "/events").json()["errors"][0]["field"] == "authorization"
    for user, password in (("dave", "dave-secret"), ("alice", "wrong"), ("alice", "")):
        r = http.get(PREFIX + "/networks", auth=(user, password))
        assert r.status_code == 401, user
        assert r.headers["www-authenticate"] == 'Bearer, Basic realm="sdn-shadow"'
    slapd.stop()
    r = http.get(PREFIX + "/networks", auth=("alice", "alice-secret"))
    assert r.status_code == 503 and slapd.url in r.json()["errors"][0]["reason"]
    assert http.get(PREFIX + "/networks", auth=("bob", "bob-secret")).status_code == 200, \
        "a user checked a moment ago is remembered"
