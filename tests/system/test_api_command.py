"""`sdn-shadow api ...` against a real uvicorn server over the component API: JSON out, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sdn_shadow.api.auth import TokenBook
from sdn_shadow.api.rest import create_app
from sdn_shadow.api.server import ApiServer
from sdn_shadow.cli import main
from sdn_shadow.lab.net import free_tcp_port
from tests.component.test_rest_api import Api


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[Api, list[str]]]:
    """The component API served on a free port; the CLI's leading arguments for it."""
    api = Api()
    book = TokenBook()
    (tmp_path / "token").write_text(book.add("cli", "admin") + "\n")
    port = free_tcp_port()
    server = ApiServer(create_app(api.service, book), "127.0.0.1", port).start()
    try:
        yield api, ["api", "--url", f"http://127.0.0.1:{port}", "--token-file",
                    str(tmp_path / "token")]
    finally:
        server.stop()


def test_reads_and_changes_print_json(served, capsys, tmp_path) -> None:
    api, head = served
    assert main([*head, "networks"]) == 0
    assert [n["name"] for n in json.loads(capsys.readouterr().out)] == ["tenant-a"]
    assert main([*head, "client", "tenant-a", "h1", "--path", "shadow"]) == 0
    assert json.loads(capsys.readouterr().out)["path"] == "shadow"
    (tmp_path / "s.yaml").write_text("name: h1-udp\nhosts: [h1]\nto: [h3s]\n"
                                     "match: {proto: udp}\n")
    assert main([*head, "create-session", "tenant-a", f"@{tmp_path / 's.yaml'}"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "h1-udp"
    assert main([*head, "events", "--since", "0", "--limit", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["events"][0]["kind"] == "move"


def test_errors_name_status_field_and_reason(served, capsys) -> None:
    _, head = served
    assert main([*head, "networks", "nope"]) == 1
    assert capsys.readouterr().err == "HTTP 404 path: no network nope\n"
    assert main([*head, "create-session", "tenant-a", '{"name": "x", "to": ["h9s"]}']) == 1
    assert capsys.readouterr().err == (
        "HTTP 400 networks.tenant-a.shadow.mirror[0]: needs hosts or ports\n"
        "HTTP 400 networks.tenant-a.shadow.mirror[0].to[0]: no shadow host h9s in tenant-a\n")


def test_an_unreachable_controller_exits_3(capsys, tmp_path) -> None:
    (tmp_path / "token").write_text("x")
    code = main(["api", "--url", f"http://127.0.0.1:{free_tcp_port()}", "--token-file",
                 str(tmp_path / "token"), "health"])
    assert code == 3 and "cannot reach" in capsys.readouterr().err


def test_alerts_blocks_and_unblock(tmp_path, capsys) -> None:
    from sdn_shadow.analytics.live import decode_frames
    from tests.component.test_shadow_watch import WATCHED, ring_with_watch, scan
    from tests.fakes.ring import apply

    api = Api(ring_with_watch())
    api.core.tick(100.0)
    api.core.mirrored(100.2, WATCHED, decode_frames(scan(1, 2, range(1, 41), 100.2)))
    apply(api.fabric, api.core.tick(101.3))
    book = TokenBook()
    (tmp_path / "token").write_text(book.add("cli", "operator") + "\n")
    port = free_tcp_port()
    server = ApiServer(create_app(api.service, book), "127.0.0.1", port).start()
    head = ["api", "--url", f"http://127.0.0.1:{port}", "--token-file", str(tmp_path / "token")]
    try:
        assert main([*head, "alerts", "--state", "open"]) == 0
        assert [a["kind"] for a in json.loads(capsys.readouterr().out)] == ["port_scan"]
        assert main([*head, "alerts", "--state", "closed"]) == 0
        assert json.loads(capsys.readouterr().out) == []
        assert main([*head, "blocks"]) == 0
        assert [b["source"] for b in json.loads(capsys.readouterr().out)] == ["10.0.0.1"]
        assert main([*head, "unblock", "tenant-a", "10.0.0.1"]) == 0
        assert json.loads(capsys.readouterr().out) == {"lifted": "10.0.0.1", "network": "tenant-a"}
        assert main([*head, "unblock", "tenant-a", "10.0.0.1"]) == 1
        assert "HTTP 404" in capsys.readouterr().err
    finally:
        server.stop()


def test_a_path_trick_name_is_refused_and_nothing_deleted(served, capsys, tmp_path) -> None:
    api, head = served
    assert main([*head, "delete-session", "tenant-a", ".."]) == 2
    assert capsys.readouterr().err == ("session: '..' must be a name matching "
                                       "[A-Za-z0-9][A-Za-z0-9_.-]*\n")
    assert main([*head, "delete-network", "../networks/tenant-a"]) == 2
    capsys.readouterr()
    assert [n["name"] for n in api.service.networks()] == ["tenant-a"]
    missing = ["api", "--url", "http://127.0.0.1:1", "--token-file", str(tmp_path / "none")]
    assert main([*missing, "networks"]) == 2
    assert capsys.readouterr().err.startswith(f"--token-file {tmp_path / 'none'}: No such file")
