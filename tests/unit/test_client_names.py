"""The API client puts only valid names into URL paths: `..` and friends are refused unsent."""

from __future__ import annotations

import httpx
import pytest

from sdn_shadow.client import BadName, ShadowClient


@pytest.fixture
def client() -> tuple[ShadowClient, list[str]]:
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(f"{request.method} {request.url.raw_path.decode()}")
        return httpx.Response(200, json={})

    http = httpx.Client(base_url="http://controller", transport=httpx.MockTransport(answer))
    return ShadowClient(http=http), sent


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "victim/..", "../x", "%2e%2e", "a b",
                                  "-lead", "x?y", "x#y", "é", None, 7])
def test_bad_names_are_refused_before_sending(client, name) -> None:
    shadow, sent = client
    calls = [lambda: shadow.delete_session("victim", name),
             lambda: shadow.delete_network(name),
             lambda: shadow.network(name),
             lambda: shadow.set_client(name, "h1", path="shadow"),
             lambda: shadow.client("tenant-a", name),
             lambda: shadow.replace_session(name, "s", {}),
             lambda: shadow.activate(name),
             lambda: shadow.lift_block(name, "10.0.0.1")]
    for call in calls:
        with pytest.raises(BadName) as info:
            call()
        assert "must be a name matching" in info.value.reason
    assert sent == []


def test_a_block_source_must_be_an_address(client) -> None:
    shadow, sent = client
    for source in ("..", "10.0.0.1/..", "h1", "10.0.0.256"):
        with pytest.raises(BadName, match="source: .* must be an IP address"):
            shadow.lift_block("tenant-a", source)
    shadow.lift_block("tenant-a", " 10.0.0.7")
    assert sent == ["DELETE /api/v1/blocks/tenant-a/10.0.0.7"]


def test_valid_names_address_their_own_route(client) -> None:
    shadow, sent = client
    shadow.delete_session("victim", "tenant-a.mirror0")
    shadow.set_client("t_1", "h1", path="shadow")
    shadow.role_swap("T-2")
    assert sent == ["DELETE /api/v1/networks/victim/mirror-sessions/tenant-a.mirror0",
                    "PUT /api/v1/networks/t_1/clients/h1",
                    "POST /api/v1/networks/T-2/shadow/role-swap"]
