"""Names are bounded: a 100-character name is fine, a longer one refused at its key."""

from __future__ import annotations

import pytest

from sdn_shadow.client import BadName, ShadowClient
from sdn_shadow.config import ConfigError, parse_config
from sdn_shadow.templates.parse import TemplateError, parse_template
from tests.unit.test_config import _base
from tests.unit.test_templates import _problems, _template

OK, LONG = "n" * 100, "n" * 101


def test_long_config_names_are_refused() -> None:
    data = _base()
    data["networks"][OK] = data["networks"].pop("tenant-b")
    parse_config(data)
    data["networks"][LONG] = data["networks"].pop(OK)
    data["networks"]["tenant-a"]["hosts"]["h" * 5000] = data["networks"]["tenant-a"]["hosts"][
        "h1"] | {"port": 77, "mac": "00:00:00:00:0a:77", "ip": "10.0.0.77"}
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert (f"networks.{LONG}", "must be at most 100 characters, not 101") in info.value.problems
    assert (f"networks.tenant-a.hosts.{'h' * 5000}",
            "must be at most 100 characters, not 5000") in info.value.problems


def test_long_session_and_template_names_are_refused() -> None:
    data = _base()
    data["networks"]["tenant-a"]["shadow"]["mirror"] = [{"name": LONG, "hosts": ["h1"],
                                                         "to": ["h1s"]}]
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert info.value.problems == [("networks.tenant-a.shadow.mirror[0].name",
                                    "must be at most 100 characters, not 101")]
    with pytest.raises(TemplateError) as problem:
        parse_template(_template(name=LONG))
    assert _problems(problem.value) == [("name", "must be at most 100 characters, not 101")]


def test_the_client_refuses_long_names_unsent() -> None:
    with pytest.raises(BadName, match="at most 100 characters"):
        ShadowClient("http://127.0.0.1:1").network("x" * 10_000)
