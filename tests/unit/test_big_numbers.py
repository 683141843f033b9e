"""Numbers of hundreds or thousands of digits: a `key.path: reason` answer, never a crash."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from sdn_shadow.cli import main
from sdn_shadow.config import ConfigError, parse_config, validate_config
from sdn_shadow.config.document import read_text
from sdn_shadow.templates.parse import TemplateError, parse_template
from tests.unit.test_config import _base
from tests.unit.test_templates import _problems, _template

ROOT = Path(__file__).resolve().parents[2]
HUGE = [10**400, -(10**400), 10**16, 1e300, float("inf"), float("nan")]
PLACES = ["controller.stats_interval", "forecast.horizon", "forecast.level",
          "telemetry.window", "routing.hold", "failover.hold", "api.max_body",
          "networks.tenant-a.vlan", "networks.tenant-a.hosts.h1.port",
          "fabric.switches.s1.dpid", "fabric.links.0.capacity",
          "networks.tenant-a.shadow.mirror.0.sample",
          "networks.tenant-a.shadow.mirror.0.truncate",
          "networks.tenant-a.shadow.mirror.0.match.dst_port",
          "networks.tenant-a.shadow.allocation.floor"]


def _put(data: dict, place: str, value: object) -> dict:
    data = copy.deepcopy(data)
    *parents, last = place.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("value", HUGE, ids=["10^400", "-10^400", "10^16", "1e300", "inf", "nan"])
def test_a_huge_number_is_refused_at_its_key(place: str, value: object) -> None:
    if place.endswith("dpid") and value == 10**16:
        return  # a valid datapath id (below 2**64)
    data = _put(_base(), place, value)
    if place.endswith("mirror.0.sample") or "allocation" in place:
        data["networks"]["tenant-a"]["shadow"].setdefault("mirror", [{"hosts": ["h1"],
                                                                       "to": ["h1s"]}])
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    path = place.replace(".0.", "[0].").replace("links[0]", "links[0]")
    assert any(p == path or p.startswith(path.rsplit(".", 1)[0])
               for p, _ in info.value.problems), info.value.problems


@pytest.mark.parametrize("digits", [309, 400, 4301, 5000, 100_000])
def test_a_file_with_a_long_integer_names_the_key(digits: int) -> None:
    text = yaml.safe_dump(_base()) + f"forecast:\n  horizon: {'9' * digits}\n"
    with pytest.raises(ConfigError) as info:
        validate_config(read_text(text))
    assert [p for p, _ in info.value.problems] == ["forecast.horizon"]
    assert "too large" in info.value.problems[0][1]


def test_validate_answers_one_line_per_problem(tmp_path, capsys) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(_base()) + "controller:\n  stats_interval: " + "1" * 5000
                    + "\ntelemetry:\n  window: " + "2" * 400 + "\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{path}: controller.stats_interval: too large: a number of 5000 characters" in err
    assert f"{path}: telemetry.window: must be in 8..1000000" in err


@pytest.mark.parametrize("value", [10**400, "9" * 5000, 1e300])
def test_template_numbers_are_bounded(value: object) -> None:
    template = _template(allocation={"strategy": "conservative", "floor": value})
    if isinstance(value, str):
        template = read_text(yaml.safe_dump(template).replace(f"'{value}'", value))
    with pytest.raises(TemplateError) as info:
        parse_template(template)
    assert [p for p, _ in _problems(info.value)] == ["allocation.floor"]


def test_the_api_command_reads_long_numbers_without_a_traceback(tmp_path, capsys) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("name: x\nhosts: [h1]\nto: [h1s]\ntruncate: " + "9" * 5000 + "\n")
    with pytest.raises(SystemExit) as info:
        main(["api", "--url", "http://127.0.0.1:1", "create-session", "t", "@" + str(tmp_path)])
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err
    from sdn_shadow.api.command import _spec

    assert len(_spec("@" + str(spec))["truncate"]) == 5000  # kept as text for the controller


def test_the_api_answers_400_naming_the_key() -> None:
    from sdn_shadow.api.rest import PREFIX
    from tests.component.test_rest_api import Api

    api = Api()
    body = {"name": "big", "hosts": ["h1"], "to": ["h3s"], "truncate": 10**400}
    answer = api.post("/networks/tenant-a/mirror-sessions", body)
    assert answer.status_code == 400, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [
        "networks.tenant-a.shadow.mirror[0].truncate"]
    raw = b'{"name": "big", "hosts": ["h1"], "to": ["h3s"], "truncate": ' + b"9" * 5000 + b"}"
    answer = api.http.post(PREFIX + "/networks/tenant-a/mirror-sessions", content=raw,
                           headers={"Authorization": f"Bearer {api.token['operator']}",
                                    "Content-Type": "application/json"})
    assert 400 <= answer.status_code < 500
