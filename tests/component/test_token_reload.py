"""Token files: list and remove, a running API following the file, a missing file refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sdn_shadow.api.auth import TokenBook, TokenFileError
from sdn_shadow.api.rest import PREFIX, create_app
from sdn_shadow.cli import main
from tests.component.test_rest_api import Api

LAB = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"


def _token(path: Path, name: str, role: str, capsys) -> str:
    assert main(["token", "add", "--file", str(path), "--name", name, "--role", role]) == 0
    return capsys.readouterr().out.strip()


def test_list_and_remove(tmp_path, capsys) -> None:
    path = tmp_path / "tokens.yaml"
    ci = _token(path, "ci", "operator", capsys)
    _token(path, "noc", "viewer", capsys)
    assert main(["token", "list", "--file", str(path)]) == 0
    out = capsys.readouterr().out
    assert out == "ci operator\nnoc viewer\n" and ci not in out
    assert main(["token", "remove", "--file", str(path), "--name", "ci"]) == 0
    assert TokenBook.load(path).holder(ci) is None
    assert main(["token", "remove", "--file", str(path), "--name", "ci"]) == 2
    assert capsys.readouterr().err == "sdn-shadow token remove: no token named 'ci'\n"
    assert main(["token", "list", "--file", str(tmp_path / "none.yaml")]) == 2
    assert "No such file or directory" in capsys.readouterr().err
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["tokens.yaml"]  # no partial files left


def test_a_running_api_follows_the_token_file(tmp_path, capsys) -> None:
    path = tmp_path / "tokens.yaml"
    old = _token(path, "old", "viewer", capsys)
    http = TestClient(create_app(Api().service, TokenBook.load(path)))

    def status(token: str) -> int:
        return http.get(f"{PREFIX}/version", headers={"Authorization": f"Bearer {token}"}
                        ).status_code

    assert status(old) == 200
    new = _token(path, "new", "viewer", capsys)
    assert (status(new), status(old)) == (200, 200)
    assert main(["token", "remove", "--file", str(path), "--name", "old"]) == 0
    assert (status(new), status(old)) == (200, 401)
    path.write_text("tokens: [oops")  # a broken edit keeps the last good tokens
    assert status(new) == 200
    path.unlink()
    assert status(new) == 200


def test_a_missing_token_file_is_an_error_at_start(tmp_path, capsys) -> None:
    missing = tmp_path / "none.yaml"
    code = main(["run", "--config", str(LAB), "--api", "127.0.0.1:8181", "--tokens",
                 str(missing)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"the REST API's token file: {missing}: No such file or directory")
    with pytest.raises(TokenFileError):
        TokenBook.load(missing)
    assert TokenBook.load(missing, missing_ok=True).holders == {}
