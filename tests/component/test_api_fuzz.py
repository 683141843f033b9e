"""Schema-driven fuzzing of the REST API: no operation answers 5xx, and only health skips auth."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sdn_shadow.api.rest import PREFIX
from tests.component.test_rest_api import RING, Api

# The bearer token is sent by hand, so the fuzzer never drops or mangles it.
CONFIG = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
_LOADER = Api()  # the OpenAPI document needs a token too
SCHEMA = schemathesis.openapi.from_asgi(
    "/openapi.json", _LOADER.http.app, config=CONFIG,
    headers={"Authorization": f"Bearer {_LOADER.token['viewer']}"})

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def known_names() -> dict[str, list[str]]:
    """The names examples/ring.yaml gives, by the collection a path names them under."""
    data = yaml.safe_load(RING.read_text())
    nets = data["networks"]
    hosts = sorted({h for net in nets.values()
                    for h in (*net.get("hosts", {}), *net.get("shadow", {}).get("hosts", {}))})
    mirrors = sorted({m["name"] for net in nets.values()
                      for m in net.get("shadow", {}).get("mirror", [])})
    names = {"networks": sorted(nets), "clients": hosts, "hosts": hosts,
             "mirror-sessions": mirrors, "mirrors": mirrors, "mirror": mirrors,
             "switches": sorted(data["fabric"]["switches"])}
    names[""] = sorted({n for pool in names.values() for n in pool})
    return names


NAMES = known_names()


def names_for(path: str, parameter: str) -> list[str]:
    """Names that exist where `parameter` sits in `path` (`/networks/{name}`: the networks)."""
    segments = path.split("/")
    at = segments.index(f"{{{parameter}}}") if f"{{{parameter}}}" in segments else 0
    return NAMES.get(segments[at - 1] if at else "", NAMES[""])


@SCHEMA.hook
def flatmap_path_parameters(context: schemathesis.HookContext,
                            path_parameters: dict[str, Any] | None
                            ) -> SearchStrategy[dict[str, Any] | None]:
    """Half the time, reach past the 404s: swap fuzzed path parameters for names that exist."""
    if not path_parameters or context.operation is None:
        return st.just(path_parameters)
    return st.fixed_dictionaries({
        key: st.one_of(st.sampled_from(names_for(context.operation.path, key)), st.just(value))
        for key, value in path_parameters.items()
    })


def ring_with_mirror() -> dict:
    """examples/ring.yaml with its mirror session kept (so there is one to read and change)."""
    data = yaml.safe_load(RING.read_text())
    data["networks"]["tenant-a"]["shadow"]["services"] = {"h2": {"capacity": 50}}
    return data


@pytest.fixture
def api() -> Api:
    return Api(ring_with_mirror())


@SCHEMA.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_operation_answers_a_server_error(case: schemathesis.Case, api: Api) -> None:
    case.call_and_validate(app=api.http.app, checks=CHECKS,
                           headers={"Authorization": f"Bearer {api.token['admin']}"})


def test_every_route_but_health_needs_a_token(api: Api) -> None:
    paths = SCHEMA.raw_schema["paths"]
    assert f"{PREFIX}/health" in paths
    for path, operations in paths.items():
        url = re.sub(r"\{[^}/]+\}", "tenant-a", path)
        for method in operations:
            if method not in METHODS:
                continue
            r = api.http.request(method.upper(), url)
            if path == f"{PREFIX}/health":
                assert r.status_code == 200, (method, url, r.text)
            else:
                assert r.status_code == 401, (method, url, r.text)
                assert r.headers["www-authenticate"] == "Bearer"
