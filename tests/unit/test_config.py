"""Unit tests for config parsing and validation (`sdn_shadow.config`)."""

from __future__ import annotations

import copy
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest
import yaml

from sdn_shadow.config import (
    Config,
    ConfigError,
    ControllerSettings,
    Host,
    Link,
    MatchFilter,
    MirrorSession,
    Network,
    PortRef,
    Shadow,
    ShadowHost,
    Switch,
    load_config,
    parse_config,
)

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))

GOOD_YAML = """
controller:
  stats_interval: 0.5
fabric:
  switches:
    s1: {dpid: 1}
    s2: {dpid: "0x0A"}
    s3: {dpid: "00:00:00:00:00:00:01:00"}
  links:
    - {a: "s1:10", b: "s2:10", capacity: 1000}
    - {a: "s2:11", b: "s3:11"}
networks:
  zeta:
    cidr: 10.0.0.0/24
    hosts:
      h1: {switch: s1, port: 1, mac: "00:00:00:00:0A:01", ip: 10.0.0.1}
      h2: {switch: s3, port: 1, mac: "00:00:00:00:0a:02", ip: 10.0.0.2}
    shadow:
      hosts:
        h2s: {twin: h2, switch: s3, port: 4}
        h1s: {twin: h1, switch: s1, port: 4, mac: "02:00:00:00:0A:01"}
      mirror:
        - ports: ["s3:1", "s1:1"]
          to: [h1s]
        - name: web
          hosts: [h2]
          direction: out
          match: {proto: tcp, src: 10.0.0.2, dst: 10.0.0.0/25, dst_port: 80}
          sample: 0.25
          to: [h2s, h1s]
  alpha:
    cidr: 192.168.1.0/24
    vlan: 100
    hosts:
      a1: {switch: s2, port: 1, mac: "00:00:00:00:0b:01", ip: 192.168.1.1}
    shadow:
      vlan: 2000
      hosts:
        a1s: {twin: a1, switch: s2, port: 2, mirror_vlan: 3001}
  beta:
    cidr: 10.0.0.0/24
    hosts:
      b1: {switch: s1, port: 2, mac: "00:00:00:00:0a:01", ip: 10.0.0.1}
"""


def test_good_config_parses_to_expected_objects() -> None:
    config = parse_config(yaml.safe_load(GOOD_YAML))

    ip = IPv4Address
    expected = Config(
        switches=(Switch("s1", 1), Switch("s2", 10), Switch("s3", 256)),
        links=(
            Link(PortRef("s1", 10), PortRef("s2", 10), 1000.0),
            Link(PortRef("s2", 11), PortRef("s3", 11), None),
        ),
        networks=(
            Network(
                name="zeta",
                cidr=IPv4Network("10.0.0.0/24"),
                vlan=1640,  # each id hashed from the name into its range (pinned here)
                hosts=(
                    Host("h1", "s1", 1, "00:00:00:00:0a:01", ip("10.0.0.1")),
                    Host("h2", "s3", 1, "00:00:00:00:0a:02", ip("10.0.0.2")),
                ),
                shadow=Shadow(
                    vlan=2840,
                    hosts=(
                        ShadowHost("h2s", "h2", "s3", 4, "00:00:00:00:0a:02", ip("10.0.0.2"), 3812),
                        ShadowHost("h1s", "h1", "s1", 4, "02:00:00:00:0a:01", ip("10.0.0.1"), 4025),
                    ),
                    mirror=(
                        MirrorSession(
                            name="zeta.mirror0",
                            sources=("h2", "h1"),
                            direction="both",
                            match=MatchFilter(),
                            sample=1.0,
                            truncate=None,
                            to=("h1s",),
                        ),
                        MirrorSession(
                            name="web",
                            sources=("h2",),
                            direction="out",
                            match=MatchFilter(
                                ip_proto=6,
                                src=IPv4Network("10.0.0.2/32"),
                                dst=IPv4Network("10.0.0.0/25"),
                                dst_port=80,
                            ),
                            sample=0.25,
                            truncate=None,
                            to=("h2s", "h1s"),
                        ),
                    ),
                ),
            ),
            Network(
                name="alpha",
                cidr=IPv4Network("192.168.1.0/24"),
                vlan=100,
                hosts=(Host("a1", "s2", 1, "00:00:00:00:0b:01", ip("192.168.1.1")),),
                shadow=Shadow(
                    vlan=2000,
                    hosts=(
                        ShadowHost(
                            "a1s", "a1", "s2", 2, "00:00:00:00:0b:01", ip("192.168.1.1"), 3001
                        ),
                    ),
                    mirror=(),
                ),
            ),
            Network(
                name="beta",
                cidr=IPv4Network("10.0.0.0/24"),
                vlan=1165,
                hosts=(Host("b1", "s1", 2, "00:00:00:00:0a:01", ip("10.0.0.1")),),
            ),
        ),
        controller=ControllerSettings(stats_interval=0.5),
    )
    assert config == expected
    assert config.network("zeta").shadow is not None
    assert config.network("zeta").shadow.host("h1s").mac == "02:00:00:00:0a:01"
    assert config.switch("s3").dpid == 256


def test_defaults_when_optional_sections_are_absent() -> None:
    config = parse_config(
        {
            "fabric": {"switches": {"s1": {"dpid": 1}}},
            "networks": {"n": {"cidr": "10.0.0.0/8", "hosts": {}}},
        }
    )
    assert config.controller == ControllerSettings(stats_interval=2.0)
    assert config.links == ()
    assert config.network("n").vlan == 1557  # hashed from "n" into 100..1999
    assert config.network("n").shadow is None


def test_vlan_assignment_skips_explicit_values() -> None:
    from sdn_shadow.config.assemble import home_vlan

    data = _base()
    data["networks"]["tenant-a"]["vlan"] = home_vlan(100, "tenant-b")  # explicit wins
    data["networks"]["tenant-b"]["vlan"] = None
    data["networks"]["tenant-a"]["shadow"]["hosts"]["h1s"]["mirror_vlan"] = \
        home_vlan(3000, "tenant-a/h2s")
    config = parse_config(data)
    assert config.network("tenant-a").vlan == 1290 == home_vlan(100, "tenant-b")
    assert config.network("tenant-b").vlan == 1291  # the next free id up from its home
    shadow = config.network("tenant-a").shadow
    assert shadow is not None
    assert shadow.vlan == home_vlan(2000, "tenant-a") == 2737
    assert (shadow.host("h1s").mirror_vlan, shadow.host("h2s").mirror_vlan) == (3906, 3907)


def _auto_vlans(config: Config) -> dict[str, int]:
    ids = {}
    for net in config.networks:
        ids[net.name] = net.vlan
        if net.shadow is not None:
            ids[f"{net.name} shadow"] = net.shadow.vlan
            ids.update({f"{net.name}/{h.name}": h.mirror_vlan for h in net.shadow.hosts})
    return ids


def test_adding_a_network_changes_no_other_vlan() -> None:
    """Assigned ids follow each name, not the sorted position among the others."""
    data = yaml.safe_load((Path(__file__).resolve().parents[2] / "examples" / "lab.yaml")
                          .read_text())
    before = _auto_vlans(parse_config(data))
    for name in ("aaa", "tenant-0", "zzz", "0"):
        grown = copy.deepcopy(data)
        grown["networks"][name] = {"cidr": "10.9.0.0/24", "hosts": {}, "shadow": {"hosts": {}}}
        after = _auto_vlans(parse_config(grown))
        assert {k: v for k, v in after.items() if k in before} == before, name
    fewer = copy.deepcopy(data)
    del fewer["networks"]["tenant-b"]
    assert _auto_vlans(parse_config(fewer)) == {k: v for k, v in before.items()
                                                if k != "tenant-b"}


def test_colliding_homes_probe_in_name_order_and_full_ranges_borrow() -> None:
    from sdn_shadow.config.assemble import _free_vlan, home_vlan

    assert _free_vlan({home_vlan(100, "x")}, 100, "x") == home_vlan(100, "x") + 1
    assert _free_vlan(set(range(100, 2000)), 100, "x") == 2000  # a full range borrows
    assert _free_vlan(set(range(1, 4095)), 100, "x") is None
    assert _free_vlan(set(range(home_vlan(3000, "x"), 4095)), 3000, "x") == 3000  # wraps


# --- bad configs ------------------------------------------------------------------------------

DELETE = object()


def _base() -> dict[str, Any]:
    """A valid config that every bad case breaks in one place."""
    return {
        "fabric": {
            "switches": {"s1": {"dpid": 1}, "s2": {"dpid": 2}, "s3": {"dpid": 3}},
            "links": [{"a": "s1:10", "b": "s2:10", "capacity": 1000}],
        },
        "networks": {
            "tenant-a": {
                "cidr": "10.0.0.0/24",
                "vlan": 100,
                "hosts": {
                    "h1": {"switch": "s1", "port": 1, "mac": "00:00:00:00:0a:01", "ip": "10.0.0.1"},
                    "h2": {"switch": "s2", "port": 1, "mac": "00:00:00:00:0a:02", "ip": "10.0.0.2"},
                },
                "shadow": {
                    "hosts": {
                        "h1s": {"twin": "h1", "switch": "s1", "port": 4},
                        "h2s": {"twin": "h2", "switch": "s2", "port": 4},
                    },
                    "mirror": [{"name": "h1-out", "hosts": ["h1"], "to": ["h1s"]}],
                },
            },
            "tenant-b": {
                "cidr": "10.0.0.0/24",
                "hosts": {
                    "b1": {"switch": "s1", "port": 3, "mac": "00:00:00:00:0b:01", "ip": "10.0.0.11"}
                },
            },
        },
    }


def _edit(data: Any, edits: dict[str, Any]) -> Any:
    """Apply `{dotted.path: value or DELETE}` edits (list indexes as numbers) to a copy."""
    data = copy.deepcopy(data)
    for dotted, value in edits.items():
        *parents, last = dotted.split(".")
        node = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        key: Any = int(last) if isinstance(node, list) else last
        if value is DELETE:
            del node[key]
        elif isinstance(node, list) and key == len(node):
            node.append(value)
        else:
            node[key] = value
    return data


def _problems(data: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return info.value.lines()


A = "networks.tenant-a"
M0 = f"{A}.shadow.mirror.0"
S0 = f"{A}.shadow.mirror[0]"
NAME = "must be a name matching [A-Za-z0-9][A-Za-z0-9_.-]*"
LDAP = {"url": "ldap://x:389", "user_dn": "uid={user},dc=x", "groups": {"admin": "cn=a"}}
MAC = 'must be a MAC address like "00:00:00:00:00:01"'
L = f"{A}.shadow.ldap"
PB, SB = "ou=a,dc=example,dc=org", "ou=a-shadow,dc=example,dc=org"
MIRROR = {"url": "ldap://127.0.0.1:389", "bind_dn": "cn=admin,dc=example,dc=org",
          "password_file": "/etc/hostname", "primary_base": PB, "shadow_base": SB}

# Problems with the files a config names are the loader's: tests/unit/test_config_files.py.
BAD = [
    # top level
    ({"colour": "red"},
     "colour: unknown key (expected one of: api, controller, fabric, failover, forecast, networks, "
     "routing, telemetry)"),
    ({"fabric": DELETE}, "fabric: required"),
    ({"api": {"listen": "127.0.0.1:8181"}},
     "api.tokens: required when api.listen is set: a token file (make one with "
     "`sdn-shadow token add`)"),
    ({"api": {"listen": "localhost"}},
     "api.listen: must be address:port, like 127.0.0.1:9108 (got 'localhost')"),
    ({"api": {"tls": {"cert": "/etc/hostname"}}}, "api.tls.key: required"),
    ({"controller": {"tls": {"cert": "/etc/hostname", "key": "/etc/hostname"}}},
     "controller.tls.ca: required"),
    ({"api": {"ldap": {**LDAP, "url": "http://x"}}},
     "api.ldap.url: must be ldap://HOST[:PORT] or ldaps://HOST[:PORT]"),
    ({"api": {"ldap": {**LDAP, "user_dn": "uid=bob,dc=x"}}},
     "api.ldap.user_dn: must contain {user} exactly once, not 0 times"),
    ({"api": {"ldap": {**LDAP, "groups": {"root": "cn=a"}}}},
     "api.ldap.groups.root: not a role: use viewer, operator, admin"),
    ({"api": {"ldap": {**LDAP, "groups": {}}}},
     "api.ldap.groups: needs at least one role: group DN (viewer, operator, admin)"),
    ({"api": {"store": ""}}, "api.store: must not be empty (leave the key out instead)"),
    ({"networks": DELETE}, "networks: required"),
    ({"fabric": None}, "fabric: must be a mapping"),
    ({"networks": ["tenant-a"]}, "networks: must be a mapping"),
    # controller
    ({"controller": [2]}, "controller: must be a mapping"),
    ({"controller": {"stats_interval": 0}}, "controller.stats_interval: must be > 0"),
    ({"controller": {"stats_interval": "2s"}}, "controller.stats_interval: must be a number"),
    ({"controller": {"stats_interval": True}}, "controller.stats_interval: must be a number"),
    (
        {"controller": {"interval": 2}},
        "controller.interval: unknown key (expected one of: stats_interval, tls)",
    ),
    # switches
    ({"fabric.switches": {}}, "fabric.switches: must not be empty"),
    ({"fabric.switches": ["s1"]}, "fabric.switches: must be a mapping"),
    ({"fabric.colour": 1}, "fabric.colour: unknown key (expected one of: links, switches)"),
    ({"fabric.switches.s3": 3}, "fabric.switches.s3: must be a mapping"),
    ({"fabric.switches.s3.dpid": DELETE}, "fabric.switches.s3.dpid: required"),
    (
        {"fabric.switches.s3.name": "x"},
        "fabric.switches.s3.name: unknown key (expected one of: dpid)",
    ),
    ({"fabric.switches.bad name": {"dpid": 9}}, f"fabric.switches.bad name: {NAME}"),
    ({"fabric.switches.s3.dpid": 0}, "fabric.switches.s3.dpid: must be in 1..2**64-1"),
    ({"fabric.switches.s3.dpid": 2**64}, "fabric.switches.s3.dpid: must be in 1..2**64-1"),
    (
        {"fabric.switches.s3.dpid": True},
        'fabric.switches.s3.dpid: must be an integer, a hex string like "0x1" '
        'or like "00:00:00:00:00:00:00:01"',
    ),
    (
        {"fabric.switches.s3.dpid": "0xzz"},
        'fabric.switches.s3.dpid: must be an integer, a hex string like "0x1" '
        'or like "00:00:00:00:00:00:00:01"',
    ),
    (
        {"fabric.switches.s3.dpid": "00:00:00:00:00:00:00:01"},
        "fabric.switches.s3.dpid: dpid 1 already used by fabric.switches.s1",
    ),
    (
        {"fabric.switches.s3.dpid": "0x2"},
        "fabric.switches.s3.dpid: dpid 2 already used by fabric.switches.s2",
    ),
    # links
    ({"fabric.links": {"a": "s1:10"}}, "fabric.links: must be a list"),
    ({"fabric.links.0": "s1:10-s2:10"}, "fabric.links[0]: must be a mapping"),
    ({"fabric.links.0.b": DELETE}, "fabric.links[0].b: required"),
    ({"fabric.links.0.a": "s1-10"}, 'fabric.links[0].a: must be "switch:port", like "s1:10"'),
    ({"fabric.links.0.a": 10}, 'fabric.links[0].a: must be "switch:port", like "s1:10"'),
    ({"fabric.links.0.b": "s9:10"}, "fabric.links[0].b: unknown switch s9"),
    ({"fabric.links.0.b": "s2:0"}, "fabric.links[0].b: port must be in 1..4294967039"),
    ({"fabric.links.0.b": "s2:4294967040"}, "fabric.links[0].b: port must be in 1..4294967039"),
    ({"fabric.links.0.b": "s1:11"}, "fabric.links[0]: connects switch s1 to itself"),
    ({"fabric.links.0.capacity": 0}, "fabric.links[0].capacity: must be > 0"),
    ({"fabric.links.0.capacity": "1G"}, "fabric.links[0].capacity: must be a number"),
    (
        {"fabric.links.0.speed": 1},
        "fabric.links[0].speed: unknown key (expected one of: a, b, capacity)",
    ),
    (
        {"fabric.links.1": {"a": "s1:10", "b": "s3:10"}},
        "fabric.links[1].a: port s1:10 already used by fabric.links[0].a",
    ),
    # port users
    (
        {"fabric.links.0.a": "s1:1"},
        f"{A}.hosts.h1: port s1:1 already used by fabric.links[0].a",
    ),
    (
        {"networks.tenant-b.hosts.b1.port": 1},
        f"networks.tenant-b.hosts.b1: port s1:1 already used by {A}.hosts.h1",
    ),
    (
        {f"{A}.shadow.hosts.h1s.port": 1},
        f"{A}.shadow.hosts.h1s: port s1:1 already used by {A}.hosts.h1",
    ),
    # networks
    ({"networks.-bad": {"cidr": "10.1.0.0/24", "hosts": {}}}, f"networks.-bad: {NAME}"),
    ({"networks.tenant-a": []}, f"{A}: must be a mapping"),
    (
        {f"{A}.colour": "red"},
        f"{A}.colour: unknown key (expected one of: cidr, hosts, shadow, vlan)",
    ),
    ({f"{A}.cidr": DELETE}, f"{A}.cidr: required"),
    ({f"{A}.hosts": DELETE}, f"{A}.hosts: required"),
    ({f"{A}.hosts": ["h1"]}, f"{A}.hosts: must be a mapping"),
    ({f"{A}.cidr": "banana"}, f"{A}.cidr: must be an IPv4 network like 10.0.0.0/24"),
    ({f"{A}.cidr": "10.0.0.0"}, f"{A}.cidr: must be an IPv4 network like 10.0.0.0/24"),
    ({f"{A}.cidr": "fd00::/64"}, f"{A}.cidr: must be an IPv4 network like 10.0.0.0/24"),
    (
        {f"{A}.cidr": "10.0.0.1/24"},
        f"{A}.cidr: 10.0.0.1/24 has host bits set (did you mean 10.0.0.0/24?)",
    ),
    # VLANs
    ({f"{A}.vlan": 0}, f"{A}.vlan: must be in 1..4094"),
    ({f"{A}.vlan": 4095}, f"{A}.vlan: must be in 1..4094"),
    ({f"{A}.vlan": True}, f"{A}.vlan: must be an integer"),
    ({f"{A}.vlan": "100"}, f"{A}.vlan: must be an integer"),
    ({"networks.tenant-b.vlan": 100}, f"networks.tenant-b.vlan: VLAN 100 already used by {A}.vlan"),
    ({f"{A}.shadow.vlan": 100}, f"{A}.shadow.vlan: VLAN 100 already used by {A}.vlan"),
    (
        {f"{A}.shadow.vlan": 2000, f"{A}.shadow.hosts.h2s.mirror_vlan": 2000},
        f"{A}.shadow.hosts.h2s.mirror_vlan: VLAN 2000 already used by {A}.shadow.vlan",
    ),
    (
        {f"{A}.shadow.hosts.h1s.mirror_vlan": 5000},
        f"{A}.shadow.hosts.h1s.mirror_vlan: must be in 1..4094",
    ),
    # primary hosts
    ({f"{A}.hosts.h1": "s1:1"}, f"{A}.hosts.h1: must be a mapping"),
    ({f"{A}.hosts.h1.mac": DELETE}, f"{A}.hosts.h1.mac: required"),
    (
        {f"{A}.hosts.h1.vlan": 5},
        f"{A}.hosts.h1.vlan: unknown key (expected one of: ip, mac, port, switch)",
    ),
    ({f"{A}.hosts.h1.switch": "s9"}, f"{A}.hosts.h1.switch: unknown switch s9"),
    ({f"{A}.hosts.h1.switch": 1}, f"{A}.hosts.h1.switch: must be a string"),
    ({f"{A}.hosts.h1.port": "1"}, f"{A}.hosts.h1.port: must be an integer"),
    ({f"{A}.hosts.h1.port": 1.0}, f"{A}.hosts.h1.port: must be an integer"),
    ({f"{A}.hosts.h1.port": 0}, f"{A}.hosts.h1.port: must be in 1..4294967039"),
    (
        {f"{A}.hosts.h1.mac": 9783936001},
        f'{A}.hosts.h1.mac: must be a quoted MAC address string like "00:00:00:00:00:01"',
    ),
    ({f"{A}.hosts.h1.mac": "00:00:00:00:0a"}, f"{A}.hosts.h1.mac: {MAC}"),
    ({f"{A}.hosts.h1.mac": "00-00-00-00-0a-01"}, f"{A}.hosts.h1.mac: {MAC}"),
    ({f"{A}.hosts.h1.mac": ["00:00:00:00:0a:01"]}, f"{A}.hosts.h1.mac: {MAC}"),
    (
        {f"{A}.hosts.h1.mac": "01:00:5E:00:00:01"},
        f"{A}.hosts.h1.mac: 01:00:5e:00:00:01 is a multicast address (must be unicast)",
    ),
    (
        {f"{A}.hosts.h1.mac": "ff:ff:ff:ff:ff:ff"},
        f"{A}.hosts.h1.mac: ff:ff:ff:ff:ff:ff is a multicast address (must be unicast)",
    ),
    (
        {f"{A}.hosts.h1.mac": "00:00:00:00:00:00"},
        f"{A}.hosts.h1.mac: must not be 00:00:00:00:00:00",
    ),
    (
        {f"{A}.hosts.h2.mac": "00:00:00:00:0A:01"},
        f"{A}.hosts.h2.mac: MAC 00:00:00:00:0a:01 already used by {A}.hosts.h1",
    ),
    ({f"{A}.hosts.h1.ip": "10.0.0.300"}, f"{A}.hosts.h1.ip: must be an IPv4 address"),
    ({f"{A}.hosts.h1.ip": 167772161}, f"{A}.hosts.h1.ip: must be an IPv4 address"),
    ({f"{A}.hosts.h1.ip": "10.0.1.5"}, f"{A}.hosts.h1.ip: 10.0.1.5 is not in 10.0.0.0/24"),
    (
        {f"{A}.hosts.h1.ip": "10.0.0.0"},
        f"{A}.hosts.h1.ip: 10.0.0.0 is the network address of 10.0.0.0/24",
    ),
    (
        {f"{A}.hosts.h1.ip": "10.0.0.255"},
        f"{A}.hosts.h1.ip: 10.0.0.255 is the broadcast address of 10.0.0.0/24",
    ),
    ({f"{A}.hosts.h2.ip": "10.0.0.1"}, f"{A}.hosts.h2.ip: 10.0.0.1 already used by {A}.hosts.h1"),
    ({f"{A}.hosts.h 3": {}}, f"{A}.hosts.h 3: {NAME}"),
    # shadow and shadow hosts
    ({f"{A}.shadow": ["h1s"]}, f"{A}.shadow: must be a mapping"),
    ({f"{A}.shadow.hosts": DELETE}, f"{A}.shadow.hosts: required"),
    (
        {f"{A}.shadow.cidr": "10.9.0.0/24"},
        f"{A}.shadow.cidr: unknown key (expected one of: active, allocation, clients, detect, "
        "hosts, ldap, mirror, services, vlan)",
    ),
    ({f"{A}.shadow.hosts.h1s.twin": DELETE}, f"{A}.shadow.hosts.h1s.twin: required"),
    # shadow.ldap: the controller's LDAP mirror
    ({L: "ldap://x"}, f"{L}: must be a mapping"),
    ({L: {**MIRROR, "port": 389}},
     f"{L}.port: unknown key (expected one of: bind_dn, ca_file, interval, password_file, "
     "primary_base, revert_drift, rules, shadow_base, url)"),
    ({L: {k: v for k, v in MIRROR.items() if k != "shadow_base"}}, f"{L}.shadow_base: required"),
    ({L: {**MIRROR, "url": "http://x:389"}}, f"{L}.url: expected ldap://HOST:PORT"),
    ({L: {**MIRROR, "url": "ldap://x:70000"}}, f"{L}.url: expected ldap://HOST:PORT"),
    ({L: {**MIRROR, "url": 389}}, f"{L}.url: must be a string"),
    ({L: {**MIRROR, "bind_dn": "admin"}}, f"{L}.bind_dn: not a DN: not a DN component: 'admin'"),
    ({L: {**MIRROR, "primary_base": " "}},
     f"{L}.primary_base: must be a DN, like ou=tenant-a,dc=example,dc=org"),
    ({L: {**MIRROR, "shadow_base": f"ou=s, {PB}"}},
     f"{L}.shadow_base: ou=s,{PB} and primary_base {PB} overlap: neither may be inside the "
     "other"),
    ({L: {**MIRROR, "shadow_base": "DC=Example,DC=org"}},
     f"{L}.shadow_base: DC=Example,DC=org and primary_base {PB} overlap: neither may be inside "
     "the other"),
    ({L: {**MIRROR, "interval": 0}}, f"{L}.interval: must be > 0"),
    ({L: {**MIRROR, "interval": "5s"}}, f"{L}.interval: must be a number"),
    ({L: {**MIRROR, "revert_drift": "yes"}}, f"{L}.revert_drift: must be true or false"),
    ({L: {**MIRROR, "rules": "cn=a:b"}}, f"{L}.rules: must be a list"),
    ({L: {**MIRROR, "rules": [{"map": "cn"}]}},
     f"{L}.rules[0].map: mapping 'cn': expected [CLASS/]ATTR=OLD:NEW"),
    ({L: {**MIRROR, "rules": [{"map": "cn=a:b"}, {"map_regex": "cn=(:x"}]}},
     f"{L}.rules[1].map_regex: mapping rule for cn: bad pattern '(': missing ), unterminated "
     "subpattern at position 0"),
    ({L: {**MIRROR, "rules": [{"map_regex": "cn=(a):\\2"}]}},
     f"{L}.rules[0].map_regex: mapping rule for cn: replacement '\\\\2' refers to a group the "
     "pattern lacks"),
    ({L: {**MIRROR, "rules": [{"map": "cn=a:b", "map_regex": "cn=a:b"}]}},
     f"{L}.rules[0]: give one of map or map_regex"),
    ({L: {**MIRROR, "rules": [{"replace": "cn=a:b"}]}},
     f"{L}.rules[0].replace: unknown key (expected one of: map, map_regex)"),
    ({L: {**MIRROR, "rules": [{"map": 5}]}}, f"{L}.rules[0].map: must be a string"),
    (
        {f"{A}.shadow.hosts.h1s.twin": "h9"},
        f"{A}.shadow.hosts.h1s.twin: no primary host h9 in tenant-a",
    ),
    (
        {f"{A}.shadow.hosts.h1s.twin": "b1"},
        f"{A}.shadow.hosts.h1s.twin: no primary host b1 in tenant-a",
    ),
    (
        {f"{A}.shadow.hosts.h1s.ip": "10.0.0.9"},
        f"{A}.shadow.hosts.h1s.ip: unknown key "
        "(expected one of: mac, mirror_vlan, port, switch, twin)",
    ),
    ({f"{A}.shadow.hosts.h1s.switch": "s9"}, f"{A}.shadow.hosts.h1s.switch: unknown switch s9"),
    (
        {f"{A}.shadow.hosts.h1s.mac": "01:02:03:04:05:06"},
        f"{A}.shadow.hosts.h1s.mac: 01:02:03:04:05:06 is a multicast address (must be unicast)",
    ),
    (
        {
            f"{A}.shadow.hosts.h1": {
                "twin": "h1",
                "switch": "s1",
                "port": 5,
                "mac": "02:00:00:00:00:01",
            }
        },
        f"{A}.shadow.hosts.h1: name already used by {A}.hosts.h1",
    ),
    (
        {f"{A}.shadow.hosts.h1t": {"twin": "h1", "switch": "s1", "port": 5}},
        f"{A}.shadow.hosts.h1t: MAC 00:00:00:00:0a:01 (the twin's) "
        f"already used by {A}.shadow.hosts.h1s",
    ),
    (
        {f"{A}.shadow.hosts.h2s.mac": "00:00:00:00:0a:01"},
        f"{A}.shadow.hosts.h2s.mac: MAC 00:00:00:00:0a:01 already used by {A}.shadow.hosts.h1s",
    ),
    # mirror sessions
    ({f"{A}.shadow.mirror": {"name": "x"}}, f"{A}.shadow.mirror: must be a list"),
    ({f"{A}.shadow.mirror.0": "h1"}, f"{S0}: must be a mapping"),
    (
        {f"{M0}.hosts_": ["h1"]},
        f"{S0}.hosts_: unknown key (expected one of: deliver, direction, hosts, match, name, "
        "ports, sample, to, truncate)",
    ),
    ({f"{M0}.name": "bad name"}, f"{S0}.name: {NAME}"),
    ({f"{M0}.name": 7}, f"{S0}.name: {NAME}"),
    (
        {f"{A}.shadow.mirror.1": {"name": "h1-out", "hosts": ["h2"], "to": ["h2s"]}},
        f"{A}.shadow.mirror[1].name: mirror session name h1-out already used by {S0}",
    ),
    (
        {
            f"{M0}.name": "tenant-a.mirror1",
            f"{A}.shadow.mirror.1": {"hosts": ["h2"], "to": ["h2s"]},
        },
        f"{A}.shadow.mirror[1]: mirror session name tenant-a.mirror1 already used by {S0}",
    ),
    (
        {
            "networks.tenant-b.shadow": {
                "hosts": {"b1s": {"twin": "b1", "switch": "s1", "port": 5}},
                "mirror": [{"name": "h1-out", "hosts": ["b1"], "to": ["b1s"]}],
            }
        },
        f"networks.tenant-b.shadow.mirror[0].name: mirror session name h1-out already used by {S0}",
    ),
    ({f"{M0}.hosts": DELETE}, f"{S0}: needs hosts or ports"),
    ({f"{M0}.ports": ["s1:1"]}, f"{S0}: has both hosts and ports (give one)"),
    ({f"{M0}.hosts": []}, f"{S0}.hosts: must not be empty"),
    ({f"{M0}.hosts": "h1"}, f"{S0}.hosts: must be a list"),
    ({f"{M0}.hosts": ["h9"]}, f"{S0}.hosts[0]: no primary host h9 in tenant-a"),
    ({f"{M0}.hosts": ["b1"]}, f"{S0}.hosts[0]: no primary host b1 in tenant-a"),
    ({f"{M0}.hosts": ["h1s"]}, f"{S0}.hosts[0]: no primary host h1s in tenant-a"),
    ({f"{M0}.hosts": ["h1", "h2", "h1"]}, f"{S0}.hosts[2]: duplicate host h1"),
    ({f"{M0}.hosts": [1]}, f"{S0}.hosts[0]: must be a string"),
    ({f"{M0}.hosts": DELETE, f"{M0}.ports": []}, f"{S0}.ports: must not be empty"),
    (
        {f"{M0}.hosts": DELETE, f"{M0}.ports": ["s1:3"]},
        f"{S0}.ports[0]: s1:3 is not a host port of tenant-a (it is networks.tenant-b.hosts.b1)",
    ),
    (
        {f"{M0}.hosts": DELETE, f"{M0}.ports": ["s1:10"]},
        f"{S0}.ports[0]: s1:10 is not a host port of tenant-a (it is fabric.links[0].a)",
    ),
    (
        {f"{M0}.hosts": DELETE, f"{M0}.ports": ["s1:4"]},
        f"{S0}.ports[0]: s1:4 is not a host port of tenant-a (it is {A}.shadow.hosts.h1s)",
    ),
    (
        {f"{M0}.hosts": DELETE, f"{M0}.ports": ["s1:9"]},
        f"{S0}.ports[0]: s1:9 is not a host port of tenant-a",
    ),
    ({f"{M0}.hosts": DELETE, f"{M0}.ports": ["s9:1"]}, f"{S0}.ports[0]: unknown switch s9"),
    (
        {f"{M0}.hosts": DELETE, f"{M0}.ports": ["h1"]},
        f'{S0}.ports[0]: must be "switch:port", like "s1:10"',
    ),
    (
        {f"{M0}.hosts": DELETE, f"{M0}.ports": ["s1:1", "s1:1"]},
        f"{S0}.ports[1]: duplicate source s1:1 (host h1)",
    ),
    ({f"{M0}.direction": "sideways"}, f"{S0}.direction: must be one of: in, out, both"),
    ({f"{M0}.direction": True}, f"{S0}.direction: must be one of: in, out, both"),
    ({f"{M0}.match": "udp"}, f"{S0}.match: must be a mapping"),
    (
        {f"{M0}.match": {"protocol": "udp"}},
        f"{S0}.match.protocol: unknown key (expected one of: dst, dst_port, proto, src, src_port)",
    ),
    (
        {f"{M0}.match": {"proto": "sctp"}},
        f"{S0}.match.proto: must be tcp, udp, icmp or a protocol number 0..255",
    ),
    (
        {f"{M0}.match": {"proto": 256}},
        f"{S0}.match.proto: must be tcp, udp, icmp or a protocol number 0..255",
    ),
    (
        {f"{M0}.match": {"proto": True}},
        f"{S0}.match.proto: must be tcp, udp, icmp or a protocol number 0..255",
    ),
    ({f"{M0}.match": {"dst_port": 80}}, f"{S0}.match.dst_port: requires proto tcp or udp"),
    (
        {f"{M0}.match": {"proto": "icmp", "src_port": 80}},
        f"{S0}.match.src_port: requires proto tcp or udp",
    ),
    (
        {f"{M0}.match": {"proto": 47, "src_port": 80}},
        f"{S0}.match.src_port: requires proto tcp or udp",
    ),
    ({f"{M0}.match": {"proto": "tcp", "dst_port": 0}}, f"{S0}.match.dst_port: must be in 1..65535"),
    (
        {f"{M0}.match": {"proto": "udp", "dst_port": 65536}},
        f"{S0}.match.dst_port: must be in 1..65535",
    ),
    (
        {f"{M0}.match": {"proto": "udp", "dst_port": "dns"}},
        f"{S0}.match.dst_port: must be an integer",
    ),
    (
        {f"{M0}.match": {"src": "10.0.0.1/24"}},
        f"{S0}.match.src: 10.0.0.1/24 has host bits set (did you mean 10.0.0.0/24?)",
    ),
    (
        {f"{M0}.match": {"dst": "nope"}},
        f"{S0}.match.dst: must be an IPv4 address or network like 10.0.0.0/24",
    ),
    (
        {f"{M0}.match": {"dst": 10}},
        f"{S0}.match.dst: must be an IPv4 address or network like 10.0.0.0/24",
    ),
    ({f"{M0}.sample": 0}, f"{S0}.sample: must be in (0, 1]"),
    ({f"{M0}.sample": -0.5}, f"{S0}.sample: must be in (0, 1]"),
    ({f"{M0}.sample": 1.5}, f"{S0}.sample: must be in (0, 1]"),
    ({f"{M0}.sample": True}, f"{S0}.sample: must be a number"),
    ({f"{M0}.sample": "50%"}, f"{S0}.sample: must be a number"),
    ({f"{M0}.sample": float("nan")}, f"{S0}.sample: must be a finite number"),
    ({f"{M0}.sample": 0.001}, f"{S0}.sample: must be at least 1/256"),
    ({f"{M0}.truncate": 13}, f"{S0}.truncate: must be in 14..65535"),
    ({f"{M0}.truncate": 65536}, f"{S0}.truncate: must be in 14..65535"),
    ({f"{M0}.truncate": 64.0}, f"{S0}.truncate: must be an integer"),
    ({f"{M0}.truncate": 64, f"{M0}.sample": 0.5},
     f"{S0}.truncate: cannot be combined with sample < 1 (Open vSwitch ignores truncation "
     "inside the select group that samples)"),
    ({f"{M0}.to": DELETE}, f"{S0}.to: required"),
    ({f"{M0}.to": []}, f"{S0}.to: must not be empty"),
    ({f"{M0}.to": "h1s"}, f"{S0}.to: must be a list"),
    ({f"{M0}.to": ["h9s"]}, f"{S0}.to[0]: no shadow host h9s in tenant-a"),
    ({f"{M0}.to": ["h1"]}, f"{S0}.to[0]: no shadow host h1 in tenant-a"),
    ({f"{M0}.to": ["h1s", "h2s", "h1s"]}, f"{S0}.to[2]: duplicate shadow host h1s"),
    (
        {f"{A}.shadow.hosts": {}},
        f"{S0}.to[0]: no shadow host h1s in tenant-a",
    ),
    # fabric reachability
    ({f"{A}.hosts.h2.switch": "s3"}, f"{A}.hosts.h2: switch s3 has no fabric path to s1"),
    (
        {f"{A}.shadow.hosts.h2s.switch": "s3"},
        f"{A}.shadow.hosts.h2s: switch s3 has no fabric path to s1",
    ),
    (
        {"fabric.links": [], f"{A}.shadow.hosts.h2s.switch": "s1"},
        f"{A}.hosts.h2: switch s2 has no fabric path to s1",
    ),
]


@pytest.mark.parametrize(("edits", "expected"), BAD, ids=[line for _, line in BAD])
def test_bad_config_is_reported(edits: dict[str, Any], expected: str) -> None:
    assert expected in _problems(_edit(_base(), edits))


def test_base_of_bad_cases_is_valid() -> None:
    assert parse_config(_base()).network("tenant-a").shadow is not None


@pytest.mark.parametrize("data", [None, [], "fabric", 3])
def test_document_must_be_a_mapping(data: object) -> None:
    assert _problems(data) == ["<root>: must be a mapping"]


def test_every_problem_is_reported() -> None:
    data = _edit(
        _base(),
        {
            "colour": "red",
            "fabric.switches.s2.dpid": 1,
            "fabric.links.0.capacity": -1,
            f"{A}.hosts.h1.ip": "10.0.1.5",
            f"{A}.hosts.h2.mac": "01:00:00:00:00:01",
            "networks.tenant-b.vlan": 100,
            f"{M0}.sample": 2,
            f"{M0}.to": ["nobody"],
        },
    )
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="bad.yaml")
    assert info.value.source == "bad.yaml"
    assert info.value.lines() == [
        "bad.yaml: colour: unknown key (expected one of: api, controller, fabric, failover, "
        "forecast, networks, routing, telemetry)",
        "bad.yaml: fabric.switches.s2.dpid: dpid 1 already used by fabric.switches.s1",
        "bad.yaml: fabric.links[0].capacity: must be > 0",
        f"bad.yaml: {A}.hosts.h1.ip: 10.0.1.5 is not in 10.0.0.0/24",
        f"bad.yaml: {A}.hosts.h2.mac: 01:00:00:00:00:01 is a multicast address (must be unicast)",
        f"bad.yaml: networks.tenant-b.vlan: VLAN 100 already used by {A}.vlan",
        # mirror sessions are checked after every network's hosts
        f"bad.yaml: {S0}.sample: must be in (0, 1]",
        f"bad.yaml: {S0}.to[0]: no shadow host nobody in tenant-a",
    ]
    assert str(info.value) == "\n".join(info.value.lines())


def test_sample_rounding_to_a_bucket_is_accepted() -> None:
    data = _edit(_base(), {f"{M0}.sample": 0.003})  # nearest n/256 is 1/256
    session = parse_config(data).network("tenant-a").shadow.mirror[0]  # type: ignore[union-attr]
    assert session.sample == 0.003


def test_port_sourced_session_resolves_to_host_names() -> None:
    data = _edit(_base(), {f"{M0}.hosts": DELETE, f"{M0}.ports": ["s2:1", "s1:1"]})
    session = parse_config(data).network("tenant-a").shadow.mirror[0]  # type: ignore[union-attr]
    assert session.sources == ("h2", "h1")


# --- files ------------------------------------------------------------------------------------

MINIMAL_YAML = """\
fabric:
  switches:
    s1: {dpid: 1}
networks:
  tenant-a:
    cidr: 10.0.0.0/24
    hosts:
      h1: {switch: s1, port: 1, mac: MAC, ip: 10.0.0.1}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_load_config_reads_a_file(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, MINIMAL_YAML.replace("MAC", '"00:00:00:00:0A:01"')))
    assert config.network("tenant-a").host("h1").mac == "00:00:00:00:0a:01"


def test_unquoted_mac_read_as_base_60_number(tmp_path: Path) -> None:
    text = MINIMAL_YAML.replace("MAC", "12:34:56:00:00:01")
    expected = (
        "networks.tenant-a.hosts.h1.mac: "
        'must be a quoted MAC address string like "00:00:00:00:00:01"'
    )
    assert _problems(yaml.safe_load(text)) == [expected]
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.lines() == [f"{path}: {expected}"]


def test_unquoted_mac_read_as_string_is_fine(tmp_path: Path) -> None:
    # YAML 1.1 base-60 numbers start with 1-9 and have only digits: this stays a string.
    config = load_config(_write(tmp_path, MINIMAL_YAML.replace("MAC", "00:00:00:00:0a:01")))
    assert config.network("tenant-a").host("h1").mac == "00:00:00:00:0a:01"


def test_unquoted_colon_dpid_read_as_base_60_number(tmp_path: Path) -> None:
    text = MINIMAL_YAML.replace("MAC", '"00:00:00:00:0a:01"').replace(
        "dpid: 1", "dpid: 10:00:00:00:00:00:00:01"
    )
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert info.value.problems == [
        (
            "fabric.switches.s1.dpid",
            'must be quoted when written with colons, like "00:00:00:00:00:00:00:01" '
            "(YAML read 10:00:00:00:00:00:00:01 as a base-60 number)",
        )
    ]


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "fabric:\n  switches: {s1: {dpid: 1}\nnetworks: {}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.source == str(path)
    [(where, reason)] = info.value.problems
    assert where == "<yaml>"
    assert reason.startswith("line 3, column 1: expected ',' or '}'")


def test_yaml_duplicate_key(tmp_path: Path) -> None:
    text = MINIMAL_YAML.replace("MAC", '"00:00:00:00:0a:01"')
    text += "      h1: {switch: s1, port: 2, mac: '00:00:00:00:0a:02', ip: 10.0.0.2}\n"
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    [(where, reason)] = info.value.problems
    assert where == "<yaml>"
    assert reason.startswith("line 9, column 7: found duplicate key 'h1'")


def test_empty_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "# nothing yet\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.lines() == [f"{path}: <root>: must be a mapping"]


def test_load_config_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.lines() == [f"{path}: <file>: cannot read: No such file or directory"]


def test_load_config_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    [(where, reason)] = info.value.problems
    assert where == "<file>"
    assert reason.startswith("cannot read: ")


# --- examples ---------------------------------------------------------------------------------


def test_examples_exist() -> None:
    assert {p.name for p in EXAMPLES} >= {"lab.yaml", "ring.yaml"}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_parses(path: Path) -> None:
    assert isinstance(load_config(path), Config)


def test_lab_example() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "examples" / "lab.yaml")
    assert [(s.name, s.dpid) for s in config.switches] == [("s1", 1), ("s2", 2)]
    assert config.links == (Link(PortRef("s1", 10), PortRef("s2", 10), 1000.0),)
    a, b = config.networks
    assert (a.name, a.vlan, b.name, b.vlan) == ("tenant-a", 437, "tenant-b", 1290)
    assert a.cidr == b.cidr == IPv4Network("10.0.0.0/24")
    assert [(h.name, h.switch, h.port, h.mac, str(h.ip)) for h in a.hosts] == [
        ("h1", "s1", 1, "00:00:00:00:0a:01", "10.0.0.1"),
        ("h2", "s2", 1, "00:00:00:00:0a:02", "10.0.0.2"),
        ("h3", "s1", 2, "00:00:00:00:0a:03", "10.0.0.3"),
    ]
    assert [(h.name, h.switch, h.port, h.mac, str(h.ip)) for h in b.hosts] == [
        ("b1", "s1", 3, "00:00:00:00:0b:01", "10.0.0.11"),
        ("b2", "s2", 3, "00:00:00:00:0b:02", "10.0.0.12"),
    ]
    assert b.shadow is None
    assert a.shadow is not None
    assert a.shadow.vlan == 2737
    hosts = a.shadow.hosts
    assert [(h.name, h.primary, h.switch, h.port, h.mac, h.mirror_vlan) for h in hosts] == [
        ("h1s", "h1", "s1", 4, "00:00:00:00:0a:01", 3029),
        ("h2s", "h2", "s2", 4, "00:00:00:00:0a:02", 3906),
    ]
    assert [(m.name, m.sources, m.direction, m.match, m.to) for m in a.shadow.mirror] == [
        ("h1-both", ("h1",), "both", MatchFilter(), ("h1s",)),
        ("h2-in", ("h2",), "in", MatchFilter(), ("h2s",)),
        ("h3-udp-out", ("h3",), "out", MatchFilter(ip_proto=17), ("h2s",)),
    ]


def test_ring_example() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "examples" / "ring.yaml")
    assert [(s.name, s.dpid) for s in config.switches] == [(f"s{i}", i) for i in range(1, 5)]
    assert [(str(lk.a), str(lk.b), lk.capacity_mbps) for lk in config.links] == [
        ("s1:10", "s2:11", 100.0),
        ("s2:10", "s3:11", 100.0),
        ("s3:10", "s4:11", 100.0),
        ("s4:10", "s1:11", 100.0),
    ]
    (net,) = config.networks
    assert [(h.name, h.switch, h.port, h.mac, str(h.ip)) for h in net.hosts] == [
        (f"h{i}", f"s{i}", 1, f"00:00:00:00:0a:0{i}", f"10.0.0.{i}") for i in range(1, 5)
    ]
    assert net.shadow is not None
    assert [(h.name, h.primary, h.switch, h.port) for h in net.shadow.hosts] == [
        (f"h{i}s", f"h{i}", f"s{i}", 2) for i in range(1, 5)
    ]
    assert [(m.name, m.sources, m.direction, m.to) for m in net.shadow.mirror] == [
        ("h1-both", ("h1",), "both", ("h3s",))
    ]


def test_telemetry_and_forecast_sections_have_defaults_and_overrides() -> None:
    data = _base()
    assert parse_config(data).telemetry.port_interval == 1.0
    data["telemetry"] = {"port_interval": 0.5, "history": "/tmp/h.sqlite",
                         "metrics": "127.0.0.1:9108", "window": 100}
    data["forecast"] = {"horizon": 60, "period": 86400, "level": 0.8, "log": False}
    config = parse_config(data)
    assert config.telemetry.port_interval == 0.5 and config.telemetry.window == 100
    assert config.telemetry.history == "/tmp/h.sqlite"
    assert config.telemetry.metrics == "127.0.0.1:9108"
    assert config.forecast.horizon == 60.0 and config.forecast.period == 86400.0
    assert config.forecast.level == 0.8 and config.forecast.log is False
    assert config.forecast.max_growth == 2.0


@pytest.mark.parametrize(
    "section,value,line",
    [
        ("telemetry", {"port_interval": 0}, "telemetry.port_interval: must be > 0"),
        ("telemetry", {"metrics": "localhost"},
         "telemetry.metrics: must be address:port, like 127.0.0.1:9108 (got 'localhost')"),
        ("telemetry", {"window": 2}, "telemetry.window: must be in 8..1000000"),
        ("telemetry", {"history": " "},
         "telemetry.history: must not be empty (leave the key out instead)"),
        ("telemetry", {"colour": 1},
         "telemetry.colour: unknown key (expected one of: flow_interval, history, "
         "meter_interval, metrics, metrics_token, port_interval, retention, window)"),
        ("forecast", {"level": 1.0}, "forecast.level: must be in (0, 1)"),
        ("forecast", {"log": "yes"}, "forecast.log: must be true or false"),
        ("forecast", {"max_growth": 0.5}, "forecast.max_growth: must be >= 1"),
        ("forecast", {"horizon": "soon"}, "forecast.horizon: must be a number"),
        ("forecast", [], "forecast: must be a mapping"),
    ],
)
def test_bad_settings_sections(section, value, line) -> None:
    data = _base()
    data[section] = value
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert line in info.value.lines()


def test_shadow_allocation_settings() -> None:
    data = _base()
    shadow = data["networks"]["tenant-a"]["shadow"]
    assert parse_config(data).network("tenant-a").shadow.allocation.strategy == "conservative"
    shadow["allocation"] = {"strategy": "dynamic", "floor": 5, "hysteresis": 0.2,
                            "forecast_only": True, "instance_capacity": 100, "instances": 2}
    alloc = parse_config(data).network("tenant-a").shadow.allocation  # type: ignore[union-attr]
    assert (alloc.strategy, alloc.floor, alloc.hysteresis, alloc.forecast_only,
            alloc.instance_capacity, alloc.instances) == ("dynamic", 5.0, 0.2, True, 100.0, 2)


@pytest.mark.parametrize("value,line", [
    ({"strategy": "greedy"},
     "shadow.allocation.strategy: must be one of: conservative, aggressive, dynamic"),
    ({"floor": -1}, "shadow.allocation.floor: must be >= 0"),
    ({"instance_capacity": 0}, "shadow.allocation.instance_capacity: must be > 0"),
    ({"forecast_only": 1}, "shadow.allocation.forecast_only: must be true or false"),
    ({"instances": -1}, "shadow.allocation.instances: must be in 0..100000"),
])
def test_bad_allocation_settings(value, line) -> None:
    data = _base()
    data["networks"]["tenant-a"]["shadow"]["allocation"] = value
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert f"networks.tenant-a.{line}" in info.value.lines()


def test_client_policy() -> None:
    data = _base()
    data["networks"]["tenant-a"]["shadow"]["clients"] = {"h1": {"path": "shadow"}}
    shadow = parse_config(data).network("tenant-a").shadow
    assert shadow is not None and shadow.clients == (("h1", "shadow"),)
    data["networks"]["tenant-a"]["shadow"]["clients"] = {"h9": {"path": "sideways"}}
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert "networks.tenant-a.shadow.clients.h9: no primary host h9 in tenant-a" in \
        info.value.lines()
    assert "networks.tenant-a.shadow.clients.h9.path: must be primary or shadow" in \
        info.value.lines()


@pytest.mark.parametrize("section,value,message", [
    ("failover", {"hold": -1}, "failover.hold: must be >= 0"),
    ("failover", {"bfd": "yes"}, "failover.bfd: must be true or false"),
    ("failover", {"bfd_interval_ms": 0}, "failover.bfd_interval_ms"),
    ("failover", {"probe_misses": 0}, "failover.probe_misses"),
    ("routing", {"upper": 1.5}, "routing.upper: must be in (0, 1]"),
    ("routing", {"upper": 0.5, "lower": 0.7}, "routing.lower: must be below routing.upper"),
    ("routing", {"hold": "long"}, "routing.hold"),
])
def test_bad_failover_and_routing_settings_are_reported(section, value, message) -> None:
    assert any(message in p for p in _problems(_edit(_base(), {section: value}))), message


def test_failover_and_routing_defaults() -> None:
    from sdn_shadow.config import parse_config

    config = parse_config(_base())
    assert (config.failover.wait_to_restore, config.failover.hold, config.failover.bfd) == (
        5.0, 10.0, False)
    assert (config.routing.upper, config.routing.lower, config.routing.hold) == (0.8, 0.6, 30.0)


def test_api_and_controller_tls_ldap_and_store_are_read() -> None:
    data = _base()
    data["api"] = {"listen": "127.0.0.1:8181", "tokens": "t.yaml", "store": "api.sqlite",
                   "tls": {"cert": "/etc/hostname", "key": "/etc/hostname"},
                   "ldap": {"url": "ldap://127.0.0.1:389", "user_dn": "uid={user},dc=x",
                            "groups": {"viewer": "cn=noc,dc=x", "admin": "cn=ops,dc=x"},
                            "timeout": 2}}
    data["controller"] = {"tls": {"cert": "/etc/hostname", "key": "/etc/hostname",
                                  "ca": "/etc/hostname"}}
    config = parse_config(data)
    assert config.api.store == "api.sqlite" and config.api.tls.cert == "/etc/hostname"
    assert config.api.ldap.groups == {"viewer": "cn=noc,dc=x", "admin": "cn=ops,dc=x"}
    assert config.api.ldap.timeout == 2.0 and config.api.ldap.cache_seconds == 30.0
    assert config.controller.tls.ca == "/etc/hostname" and config.controller.stats_interval == 2


def test_shadow_ldap_mirror_settings_and_defaults() -> None:
    from sdn_shadow.config.model import LdapMirrorSettings
    from sdn_shadow.directory.rules import MappingRule

    assert parse_config(_base()).network("tenant-a").shadow.ldap is None
    data = _edit(_base(), {L: dict(MIRROR, primary_base=f" OU=a , {PB[5:]}")})
    ldap = parse_config(data).network("tenant-a").shadow.ldap
    assert ldap == LdapMirrorSettings("ldap://127.0.0.1:389", "cn=admin,dc=example,dc=org",
                                      "/etc/hostname", "OU=a,dc=example,dc=org", SB)
    assert (ldap.interval, ldap.revert_drift, ldap.rules) == (5.0, False, ())
    data = _edit(_base(), {L: dict(MIRROR, url="ldaps://dir.example.org/", interval=0.5,
                                   revert_drift=True, rules=[
                                       {"map_regex": "ipHost/ipHostNumber=^10[.]0[.]:10.1."},
                                       {"map": "description=a\\:b:"}])})
    ldap = parse_config(data).network("tenant-a").shadow.ldap
    assert (ldap.url, ldap.interval, ldap.revert_drift) == ("ldaps://dir.example.org", 0.5, True)
    assert ldap.rules == (
        MappingRule("iphostnumber", "^10[.]0[.]", "10.1.", regex=True, object_class="iphost"),
        MappingRule("description", "a:b", ""))


def test_shadow_ldap_mirrors_on_one_server_must_not_overlap() -> None:
    other = {"hosts": {}, "ldap": dict(MIRROR, primary_base="ou=b,dc=example,dc=org",
                                       shadow_base=f"ou=hosts,{SB}")}
    data = _edit(_base(), {L: MIRROR, "networks.tenant-b.shadow": other})
    assert _problems(data) == [
        f"networks.tenant-b.shadow.ldap.shadow_base: ou=hosts,{SB} overlaps {A}.shadow.ldap."
        f"shadow_base {SB}: one mirror would overwrite the other's entries"]
    other["ldap"]["shadow_base"] = f"ou=copy,{PB}"
    assert _problems(_edit(_base(), {L: MIRROR, "networks.tenant-b.shadow": other})) == [
        f"networks.tenant-b.shadow.ldap.shadow_base: ou=copy,{PB} overlaps {A}.shadow.ldap."
        f"primary_base {PB}: one mirror would overwrite the other's entries"]
    other["ldap"]["url"] = "ldap://10.0.0.9:389"  # another server: no conflict
    config = parse_config(_edit(_base(), {L: MIRROR, "networks.tenant-b.shadow": other}))
    assert config.network("tenant-b").shadow.ldap.shadow_base == f"ou=copy,{PB}"
    other["ldap"] = dict(MIRROR, shadow_base="ou=b-shadow,dc=example,dc=org")  # same primary
    assert parse_config(_edit(_base(), {L: MIRROR, "networks.tenant-b.shadow": other}))


def test_only_true_and_false_are_booleans_so_on_is_a_key(tmp_path: Path) -> None:
    lab = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"
    watch = "    shadow:\n      detect:\n        on: [h2s]\n"
    text = lab.read_text().replace("    shadow:\n", watch, 1)
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    [network] = [n for n in load_config(path).networks if n.name == "tenant-a"]
    assert list(network.shadow.detect.on) == ["h2s"]
    path.write_text(text.replace("forecast_only: false", "forecast_only: no"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert any(p.endswith("allocation.forecast_only") for p, _ in err.value.problems)


def test_api_max_body_is_bounded() -> None:
    data = _base()
    assert parse_config(data).api.max_body == 1 << 20
    data["api"] = {"max_body": 4096}
    assert parse_config(data).api.max_body == 4096
    data["api"] = {"max_body": 10}
    assert _problems(data) == ["api.max_body: must be in 1024..1073741824"]


def test_shadow_ldap_ca_file_is_read_and_checked(tmp_path) -> None:
    from sdn_shadow.config import load_config

    data = _edit(_base(), {L: dict(MIRROR, url="ldaps://dir.example.org", ca_file="/etc/hostname")})
    assert parse_config(data).network("tenant-a").shadow.ldap.ca_file == "/etc/hostname"
    assert parse_config(_edit(_base(), {L: MIRROR})).network("tenant-a").shadow.ldap.ca_file == ""
    data = _edit(_base(), {L: dict(MIRROR, ca_file=str(tmp_path / "none.pem"))})
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "c.yaml")
    assert [line.split(": ", 1)[1] for line in info.value.lines() if "ca_file" in line] == [
        f"{L}.ca_file: cannot read {tmp_path / 'none.pem'}"]
