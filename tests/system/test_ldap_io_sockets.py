"""The LDAP mirror's connection against sockets that do not speak LDAP: each is a
DirectoryError naming the server, never an exception from inside ldap3."""

from __future__ import annotations

import pytest

from sdn_shadow.directory.ldap_io import DirectoryError, connect
from tests.system.test_ldap_roles_sockets import serving

HTTP = (b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")


def echo(request: bytes) -> bytes:
    """The request itself: what a socket connected to itself reads back."""
    return request


def test_an_http_reply_is_a_directory_error_naming_the_server() -> None:
    with serving(HTTP) as port:
        url = f"ldap://127.0.0.1:{port}"
        with pytest.raises(DirectoryError) as caught:
            connect(url, "cn=admin,dc=example,dc=org", "secret", timeout=2)
    assert url in str(caught.value)


def test_its_own_request_read_back_is_not_an_ldap_reply() -> None:
    # A complete BER message, but a request (APPLICATION 0): ldap3 raises KeyError on it.
    with serving(echo) as port:
        url = f"ldap://127.0.0.1:{port}"
        with pytest.raises(DirectoryError) as caught:
            connect(url, "cn=admin,dc=example,dc=org", "secret", timeout=2)
    assert str(caught.value) == (f"bind to {url} as cn=admin,dc=example,dc=org: "
                                 "not an LDAP reply (KeyError (1, 0))")
