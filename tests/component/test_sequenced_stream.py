"""The numbered UDP stream's sender refuses bad arguments before it opens a socket."""

from __future__ import annotations

import pytest

from sdn_shadow.lab.sequenced import main, send


def test_bad_arguments_are_refused(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["send", "--dst", "127.0.0.1", "--mbps", "0", "--seconds", "1"])
    assert "mbps > 0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="size"):
        send("127.0.0.1", 9, 1, 1, size=4)
