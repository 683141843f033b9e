"""One network validated against the rest of a running configuration: what an API edit costs.

`parse_config` walks the whole document: at 2,000 hosts that is most of
what adding a mirror session costs. An edit over the API changes one
network, and the rest of the document is the running configuration's
already (validated, frozen). `with_network` parses the settings and the
fabric (small), takes every other network as the running `Config` has it
(the same objects: planning sees them unchanged by identity), and parses
only the edited one, with the ports, VLAN ids and session names the others
claim. It answers None whenever only the whole parse can say what the
document means: any problem (so its report is the whole parse's, in its
order), a VLAN id assigned to another network that would change, a
fabric or a network order that is not the running one, an `ldap` block.
The caller then runs `validate_config` on the document, so the outcome is
always the one a whole parse gives. The edited network's VLAN ids come
from `vlan_index` (its claims alone beside the ids the others hold), and
the whole assignment runs only when that cannot tell.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterator, Mapping, MutableMapping
from itertools import islice
from typing import Any, cast

from . import settings
from .assemble import _free_vlan
from .assemble import network as frozen
from .context import Context
from .drafts import NetDraft
from .fabric import check_reachability, fabric
from .files import FileRef, check_references, file_references, network_file_references
from .model import Config, Network
from .networks import network
from .parse import _TOP_KEYS, finish_network
from .shapes import name_problem
from .vlan_index import VlanIndex, claims, edited_ids, home, vlans_of

Port = tuple[str, int]


def with_network(config: Config, document: Any, name: str) -> Config | None:
    """`config` with network `name` as `document` defines it now (added, replaced, or
    removed when the document has none); None when only `validate_config` can say.

    `document` must be the document `config` was parsed from but for network
    `name` (its other networks as `config` has them, in the same order).
    """
    networks = document.get("networks") if isinstance(document, dict) else None
    if not isinstance(networks, dict) or not isinstance(name, str) or (
            name in networks and name_problem(name) is not None):
        return None
    others = tuple(n for n in config.networks if n.name != name)
    if [n.name for n in others] != [k for k in networks if k != name]:
        return None
    facts = check_references(_references(document, networks, name))  # opens only these
    if facts.problems:
        return None
    ctx = Context(facts)
    top = ctx.fields(document, "", _TOP_KEYS, ("fabric", "networks"))
    if top is None:
        return None
    sections = (settings.controller(ctx, top.get("controller")),
                settings.telemetry(ctx, top.get("telemetry")),
                settings.forecast(ctx, top.get("forecast")),
                settings.failover(ctx, top.get("failover")),
                settings.routing(ctx, top.get("routing")),
                settings.api(ctx, top.get("api")))
    fabric(ctx, top["fabric"])
    if ctx.problems or tuple(ctx.links) != config.links or not _same_switches(ctx, config):
        return None
    index = VlanIndex.of(config, networks, name)
    draft = None
    if name in networks:
        draft = _draft(ctx, config, others, name, networks[name], index)
        if draft is None:
            return None
    ids = edited_ids(index, networks, name)
    if ids is None:  # the edit may move another network's id: assign every one
        vlans = _assigned(networks)
        if vlans is None or any(vlans_of(n) != vlans[n.name] for n in others):
            return None  # an id another network was given would change: the whole parse
        ids = vlans.get(name, ())
    placed: Network | None = None
    if draft is not None:
        _give_vlans(draft, ids)
        placed = frozen(draft)
    new = _networks(config.networks, others, networks, name, placed)
    index.edited(new, name, placed, list(claims(name, networks.get(name))))
    return Config(config.switches, config.links, new, *sections)


def _networks(running: tuple[Network, ...], others: tuple[Network, ...],
              networks: dict[str, Any], name: str, placed: Network | None
              ) -> tuple[Network, ...]:
    """The networks in `networks`' order: the running ones, network `name` as `placed`."""
    if placed is not None and next(reversed(networks)) == name \
            and len(others) == len(running):  # added last: the others as they were
        return (*running, placed)
    if placed is not None and len(others) < len(running):  # replaced where it was?
        at = next(i for i, n in enumerate(running) if n.name == name)
        if next(islice(networks, at, None)) == name:
            return tuple(placed if n.name == name else n for n in running)
    return cast(tuple[Network, ...], tuple(
        placed if k == name else _by_name(others, k) for k in networks
        if k != name or placed is not None))


def _references(document: dict[str, Any], networks: dict[str, Any], name: str
                ) -> list[FileRef]:
    """The files `document` names (`file_references`), each other network's kept while
    its definition is the same object (an edit never changes one in place)."""
    refs = list(file_references({k: document.get(k) for k in ("controller", "api")}))
    for key, spec in networks.items():
        kept = _REFS.get(id(spec))
        if key == name or kept is None or kept[0] is not spec:
            if len(_REFS) > 4 * len(networks) + 64:
                _REFS.clear()
            kept = _REFS[id(spec)] = (spec, network_file_references(spec))
        refs += kept[1]
    return refs


_REFS: dict[int, tuple[Any, list[FileRef]]] = {}


def _same_switches(ctx: Context, config: Config) -> bool:
    return [(n, d) for n, d in ctx.switches.items()] == [(s.name, s.dpid)
                                                       for s in config.switches]


def _by_name(networks: tuple[Network, ...], name: str) -> Network:
    found = _BY_NAME.get(id(networks))
    if found is None or found[0] is not networks:
        _BY_NAME.clear()
        found = _BY_NAME[id(networks)] = (networks, {n.name: n for n in networks})
    return found[1][name]


_BY_NAME: dict[int, tuple[tuple[Network, ...], dict[str, Network]]] = {}


def _draft(ctx: Context, config: Config, others: tuple[Network, ...], name: str,
           spec: Any, index: VlanIndex) -> NetDraft | None:
    """Network `name` parsed beside the others' claims; None on any problem."""
    if isinstance(spec, dict) and isinstance(spec.get("shadow"), dict) \
            and spec["shadow"].get("ldap") is not None:
        return None  # shadows on one LDAP server are checked against each other
    ctx.ports = cast(dict[Port, str], ChainMap(ctx.ports, _PORTS.claims(config, name)))
    ctx.session_names = cast(dict[str, str], ChainMap(
        {}, {s.name: n.name for n in others if n.shadow for s in n.shadow.mirror}))
    ctx.vlans = cast(dict[int, str], ChainMap({}, cast(dict[int, str], index.taken(name))))
    net = network(ctx, name, f"networks.{name}", spec)
    if net is None or ctx.problems:
        return None
    finish_network(ctx, net)
    check_reachability(ctx, [net])
    return None if ctx.problems else net


def _assigned(networks: Mapping[str, Any]) -> dict[str, tuple[int, ...]] | None:
    """Every network's VLAN ids (its own, its shadow's, each twin's) as `assign_vlans`
    gives them for these definitions; None when a definition is not plain enough."""
    used: set[int] = set()
    wanted: list[tuple[int, str, str, int]] = []  # (base, key, network, slot)
    slots: dict[str, list[int]] = {}
    for name, spec in networks.items():
        ids = slots[name] = []
        for slot, (base, key, vid) in enumerate(claims(name, spec)):
            if vid is None:
                wanted.append((base, key, name, slot))
                ids.append(0)
            elif isinstance(vid, int) and not isinstance(vid, bool):
                used.add(vid)
                ids.append(vid)
            else:
                return None
    for base, key, name, slot in sorted(wanted, key=lambda w: (w[0], w[1])):
        vid = _free(used, base, key)
        if vid is None:
            return None
        used.add(vid)
        slots[name][slot] = vid
    return {name: tuple(ids) for name, ids in slots.items()}


def _free(used: set[int], base: int, key: str) -> int | None:
    start = home(base, key)
    return start if start not in used else _free_vlan(used, base, key)


def _give_vlans(draft: NetDraft, ids: tuple[int, ...]) -> None:
    draft.vlan = ids[0]
    if draft.shadow is not None:
        draft.shadow.vlan = ids[1]
        for twin, vid in zip(draft.shadow.hosts.values(), ids[2:], strict=True):
            twin["mirror_vlan"] = vid


def _ports_of(net: Network) -> Iterator[Port]:
    yield from ((h.switch, h.port) for h in net.hosts)
    if net.shadow is not None:
        yield from ((t.switch, t.port) for t in net.shadow.hosts)


class _PortIndex:
    """(switch, port) -> the network whose host or twin may use it, over every network
    seen: a hit is checked against the configuration asked about, so an entry left by
    a network since changed or removed is never taken for a claim. A network object
    not seen yet is indexed when first asked about (what an edit costs is its own)."""

    def __init__(self) -> None:
        self.ports: dict[Port, str] = {}
        self.seen: dict[str, Network] = {}
        self.own: dict[int, tuple[Network, frozenset[Port]]] = {}

    def claims(self, config: Config, name: str) -> _Claims:
        """The ports `config`'s networks but `name` use, as a read-only mapping."""
        for net in config.networks:
            if self.seen.get(net.name) is not net:
                self.seen[net.name] = net
                self.ports.update(dict.fromkeys(self.of(net), net.name))
        return _Claims(self, {n.name: n for n in config.networks if n.name != name})

    def of(self, net: Network) -> frozenset[Port]:
        """The ports `net`'s hosts and twins use."""
        kept = self.own.get(id(net))
        if kept is None or kept[0] is not net:
            if len(self.own) > 4 * len(self.seen) + 64:
                self.own.clear()
            kept = self.own[id(net)] = (net, frozenset(_ports_of(net)))
        return kept[1]


_PORTS = _PortIndex()


class _Claims(MutableMapping[Port, str]):
    """The ports the other networks of one configuration use (read only)."""

    def __init__(self, index: _PortIndex, others: dict[str, Network]) -> None:
        self.index, self.others = index, others

    def __getitem__(self, key: Port) -> str:
        owner = self.index.ports.get(key)
        net = None if owner is None else self.others.get(owner)
        if net is None or key not in self.index.of(net):
            raise KeyError(key)
        return net.name

    def __contains__(self, key: object) -> bool:
        try:
            self[cast(Port, key)]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[Port]:
        return (p for n in self.others.values() for p in self.index.of(n))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __setitem__(self, key: Port, value: str) -> None:
        raise TypeError("read only: claims go to the parse's own map")

    def __delitem__(self, key: Port) -> None:
        raise TypeError("read only")


__all__ = ["with_network"]
