"""LdapDirectory turns a reply ldap3 cannot decode into a DirectoryError naming the server."""

from __future__ import annotations

import pytest

from sdn_shadow.directory.ldap_io import DirectoryError, LdapDirectory
from sdn_shadow.directory.mirror import Add, Delete

URL = "ldap://127.0.0.1:3890"


class Garbling:
    """An ldap3 connection stand-in whose decoder fails on the reply to its n-th operation."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at, self.sent, self.result, self.closed = fail_at, 0, None, False

    def _reply(self) -> bool:
        self.sent += 1
        if self.sent == self.fail_at:
            raise KeyError((1, 0))
        self.result = {"result": 0, "description": "success"}
        return True

    def search(self, *args, **kwargs) -> bool:
        return self._reply()

    def add(self, *args, **kwargs) -> bool:
        return self._reply()

    def delete(self, *args, **kwargs) -> bool:
        return self._reply()

    def unbind(self) -> None:
        raise KeyError((1, 0))


def test_a_garbled_search_reply_is_a_directory_error() -> None:
    directory = LdapDirectory(Garbling(1), URL)  # type: ignore[arg-type]
    with pytest.raises(DirectoryError) as caught:
        directory.read("ou=primary,dc=example,dc=org")
    assert str(caught.value) == (f"{URL}: search ou=primary,dc=example,dc=org: "
                                 "not an LDAP reply (KeyError (1, 0))")
    directory.close()  # unbinding a garbled session raises nothing


def test_a_garbled_reply_mid_apply_keeps_the_results_so_far() -> None:
    directory = LdapDirectory(Garbling(2), URL)  # type: ignore[arg-type]
    first = Add("cn=a,dc=example,dc=org", {"cn": ("a",), "objectClass": ("device",)})
    with pytest.raises(DirectoryError) as caught:
        directory.apply([first, Delete("cn=b,dc=example,dc=org")])
    assert str(caught.value).startswith(f"{URL}: delete cn=b,dc=example,dc=org: not an LDAP")
    assert [(r.op, r.ok) for r in caught.value.results] == [(first, True)]
