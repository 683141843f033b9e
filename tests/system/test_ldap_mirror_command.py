"""`sdn-shadow ldap mirror --once` against a real port on 127.0.0.1 where nothing listens."""

from __future__ import annotations

import socket

from sdn_shadow.directory import command
from tests.unit.test_ldap_mirror import P, S


def test_command_once_exits_1_when_the_server_cannot_be_reached(tmp_path, capsys) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        url = f"ldap://127.0.0.1:{sock.getsockname()[1]}/"
        code = command.main(["ldap", "mirror", "--url", url, "--bind-dn", "cn=admin,dc=x",
                             "--password-file", str(secret), "--primary-base", P,
                             "--shadow-base", S, "--once", "--timeout", "1"])
    assert code == 1
    assert capsys.readouterr().out.startswith("round 1: error: cannot reach ldap://127.0.0.1:")
