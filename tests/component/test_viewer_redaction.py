"""Viewers (and the dashboard) do not read where the LDAP mirror binds or its password file."""

from __future__ import annotations

from sdn_shadow.api.redact import HIDDEN, for_viewer
from sdn_shadow.dashboard.snapshot import snapshot
from tests.component.test_rest_api import Api, ring_document

LDAP = {"url": "ldaps://ldap.example.org", "bind_dn": "cn=mirror,dc=example,dc=org",
        "password_file": "/etc/sdn-shadow/ldap.pw", "primary_base": "ou=a,dc=example,dc=org",
        "shadow_base": "ou=b,dc=example,dc=org"}


def _api() -> Api:
    document = ring_document()
    document["networks"]["tenant-a"]["shadow"]["ldap"] = dict(LDAP)
    return Api(document=document)


def test_a_viewer_sees_the_bind_dn_and_password_file_hidden() -> None:
    api = _api()
    for answer in (api.get("/networks/tenant-a").json(), api.get("/networks").json()[0]):
        ldap = answer["spec"]["shadow"]["ldap"]
        assert ldap["bind_dn"] == HIDDEN and ldap["password_file"] == HIDDEN
        assert ldap["url"] == LDAP["url"]  # where the directory is stays readable
    seen = api.get("/networks/tenant-a", role="operator").json()["spec"]["shadow"]["ldap"]
    assert seen == LDAP  # operators and admins run it: they see it
    assert api.service.document["networks"]["tenant-a"]["shadow"]["ldap"] == LDAP


def test_the_dashboard_snapshot_hides_them_too() -> None:
    api = _api()

    class Thresholds:
        def of(self, service):
            return {}

    snap = snapshot(api.service, Thresholds())
    ldap = snap["networks"][0]["spec"]["shadow"]["ldap"]
    assert ldap["bind_dn"] == HIDDEN and ldap["password_file"] == HIDDEN


def test_a_network_without_ldap_is_shown_as_it_is() -> None:
    network = {"name": "x", "spec": {"cidr": "10.0.0.0/24", "shadow": {"hosts": {}}}}
    assert for_viewer(network) is network
