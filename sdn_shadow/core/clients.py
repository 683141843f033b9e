"""Client policy: a client's path (primary or shadow) and service (primary or twin).

Pure functions: each takes the current intents and returns the new ones
(ValueError for a client or a setting the configuration does not allow).
"""

from __future__ import annotations

from sdn_shadow.config.model import Config, Network
from sdn_shadow.core.roles import shadowed_network
from sdn_shadow.intents import Intents


def shadowed_client(config: Config, network: str, host: str) -> Network:
    """Network `network`, which must have a shadow and primary host `host` (ValueError)."""
    net = shadowed_network(config, network)
    if host not in {h.name for h in net.hosts}:
        raise ValueError(f"{network}: no primary host {host}")
    return net


def client_path(config: Config, intents: Intents, network: str, host: str, path: str
                ) -> Intents:
    """The client's traffic (both ways) on its shadow paths (`path="shadow"`) or back."""
    shadowed_client(config, network, host)
    return intents.with_client_path((network, host), path)


def client_service(config: Config, intents: Intents, network: str, host: str, service: str
                   ) -> Intents:
    """The client's *new* connections to the service hosts' twins (`service="twin"`) or
    to the hosts; a network without service hosts has no twins to steer to."""
    net = shadowed_client(config, network, host)
    new = intents.with_client_service((network, host), service)
    if service == "twin" and net.shadow is not None and not net.shadow.services:
        raise ValueError(f"{network}: no service hosts (shadow.services) to steer to")
    return new
