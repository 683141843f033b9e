"""FIFOs, directories and oversized files named as inputs: a one-line answer, never a hang."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sdn_shadow.cli import main
from sdn_shadow.config import ConfigError, load_config
from sdn_shadow.config.document import read_regular
from tests.unit.test_config import _base


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A FIFO; a watchdog writes to it after 5 s, so a reader that blocked fails, not hangs."""
    path = tmp_path / "pipe"
    os.mkfifo(path)
    done = threading.Event()

    def unblock() -> None:
        if not done.wait(5):
            with contextlib.suppress(OSError), open(path, "wb") as stream:
                stream.write(b"unblocked by the watchdog\n")

    watchdog = threading.Thread(target=unblock, daemon=True)
    watchdog.start()
    yield path
    done.set()
    watchdog.join()


def test_read_regular_refuses_what_is_not_a_bounded_file(fifo: Path, tmp_path: Path) -> None:
    for path in (fifo, tmp_path, Path("/dev/zero")):
        with pytest.raises(OSError, match="not a regular file"):
            read_regular(path)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 2049)
    with pytest.raises(OSError, match="larger than 2048 bytes"):
        read_regular(big, 2048)
    assert read_regular(big, 4096) == b"x" * 2049


def test_validate_a_fifo(fifo: Path, capsys) -> None:
    assert main(["validate", str(fifo)]) == 2
    assert capsys.readouterr().err.strip().endswith("<file>: cannot read: not a regular file")


def test_files_the_config_names_may_not_be_fifos(fifo: Path, tmp_path: Path) -> None:
    data = _base()
    data["networks"]["tenant-a"]["shadow"]["detect"] = {"on": ["h1s"], "baseline": [str(fifo)]}
    data["controller"] = {"tls": {"cert": str(fifo), "key": "/etc/hostname",
                                  "ca": "/etc/hostname"}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "c.yaml")
    assert {(p, r) for p, r in info.value.problems} >= {
        ("controller.tls.cert", f"cannot read {fifo}"),
        ("networks.tenant-a.shadow.detect.baseline[0]", f"{fifo}: not a regular file")}


def test_token_and_spec_files_may_not_be_fifos(fifo: Path, capsys) -> None:
    assert main(["token", "list", "--file", str(fifo)]) == 2
    assert "not a regular file" in capsys.readouterr().err
    assert main(["api", "--url", "http://127.0.0.1:1", "--token-file", str(fifo), "blocks"]) == 2
    assert "not a regular file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["api", "--url", "http://127.0.0.1:1", "create-session", "t", f"@{fifo}"])
    assert "not a regular file" in capsys.readouterr().err


def test_an_ldap_password_file_may_not_be_a_fifo(fifo: Path, capsys) -> None:
    from sdn_shadow.directory import command

    assert command.main(["ldap", "mirror", "--url", "ldap://127.0.0.1:1", "--bind-dn", "cn=a",
                         "--primary-base", "ou=p,dc=x", "--shadow-base", "ou=s,dc=x",
                         "--password-file", str(fifo)]) == 2
    assert "--password-file" in capsys.readouterr().err
