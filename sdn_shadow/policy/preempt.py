"""Preemptive relief from forecasts: clients leave a resource before it overloads (pure).

A resource is a primary link (relief `path`: the client's path moves to the shadow)
or a service host (relief `service`: the client's service moves to `twin`, so its new
connections go to the host's twin). `Preempter.decide` runs once per forecast interval and answers
with `Decision`s: `move`, `return` or `scale`. Rates are bytes/s; utilisation
thresholds are fractions of capacity; the caller picks which forecast to pass
(upper bound for a conservative network, point for an aggressive one, ...).

What the caller passes (the same every round, whoever is relieved):

- `Resource.planned` is the forecast demand on the primary resource *as if nobody
  were relieved*; `Contribution`s give each client's share of it, also as if on the
  primary. The rest (planned minus all contributions) is base load no move can take
  away. The `Preempter` remembers who it relieved and subtracts them itself, so the
  caller never has to compute "load as routed now".
- `ShadowResource.planned` is the forecast on a shadow resource *without* anything
  this module put there; `Detour`s say what relieving a client would add to which
  shadow resource (`service=None`: its shadow path; `service=S`: the twin of S).
  The `Preempter` adds the detours of the clients it has relieved.

Each round, in this order (decisions come back in the same order):

1. Return. A relieved client may go back when every primary resource it would load
   again (the one it relieved and, for a path, every other link it uses; unknown
   capacities are skipped) is planned below `lower * capacity` *with it back*. The
   condition must hold in every round for `hold` seconds: the clock starts at the
   first round it holds and resets whenever it fails. Due clients go back largest
   first (by their share of the resource they relieved, ties by `repr(client)`),
   each re-checked against the loads left by those already returned this round; a
   client that no longer fits stays, clock kept.
2. Move. Resources with known capacity go by utilisation descending, then key. A
   resource is over when its load exceeds `upper * capacity` in `confirm`
   consecutive rounds (this one included; a round at or below the line starts the
   count again): one forecast crossing the line on noise alone moves nobody, at
   the price of `confirm - 1` rounds of lead on a real rise. Its clients that are
   not already relieved from it go largest first (ties by `repr(client)`) until
   what they take covers the excess, or all of them if it cannot be covered. A
   path move takes the client off every primary link, so later resources are
   evaluated without it. The chosen set is all or nothing: if it would push any
   shadow resource of known capacity above `upper * capacity`, nobody moves.
3. Scale. For every shadow resource of known capacity that relieved clients use or
   that blocked a move: if the load there (plus whatever blocked moves would add)
   exceeds `upper * capacity`, one `scale` decision asks for
   `ceil(lacking / instance_capacity)` (at least 1) more instances, where
   `instance_capacity` defaults to that resource's own capacity. It is emitted every
   round while this holds; nobody is moved back because of it, so there is no
   move/return oscillation -- relief waits for capacity.

Resources with capacity None or <= 0 are never acted on (and never block a move on
the shadow side). Decisions are assumed applied: the state changes as they say.
`Preempter` is a value: `decide` returns the new preempter with the decisions.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field, replace
from typing import TypeGuard

from sdn_shadow.frozen import EMPTY, FrozenMap

Client = Hashable

KINDS = ("link", "service")
RELIEFS = {"link": "path", "service": "service"}
DECISIONS = ("move", "return", "scale")


@dataclass(frozen=True, slots=True)
class PreemptPolicy:
    """Utilisation thresholds (fractions of capacity), hold time (s), instance size (bytes/s)."""

    upper: float = 0.8
    lower: float = 0.6
    hold: float = 30.0
    instance_capacity: float | None = None
    confirm: int = 1

    def __post_init__(self) -> None:
        if not _finite(self.upper) or not 0.0 < self.upper <= 1.0:
            raise ValueError(f"PreemptPolicy.upper must be in (0, 1], got {self.upper!r}")
        if not _finite(self.lower) or not 0.0 < self.lower < self.upper:
            raise ValueError(f"PreemptPolicy.lower must be in (0, upper={self.upper!r}), "
                             f"got {self.lower!r}")
        if not _finite(self.hold) or self.hold < 0.0:
            raise ValueError(f"PreemptPolicy.hold must be a finite number of seconds >= 0, "
                             f"got {self.hold!r}")
        if self.instance_capacity is not None and (not _finite(self.instance_capacity)
                                                   or self.instance_capacity <= 0.0):
            raise ValueError(f"PreemptPolicy.instance_capacity must be None or > 0 bytes/s, "
                             f"got {self.instance_capacity!r}")
        if isinstance(self.confirm, bool) or not isinstance(self.confirm, int) \
                or not 1 <= self.confirm <= 100:
            raise ValueError(f"PreemptPolicy.confirm must be a whole number of rounds in "
                             f"1..100, got {self.confirm!r}")


@dataclass(frozen=True, slots=True)
class Resource:
    """A primary link or service host: capacity and forecast demand as if nobody were relieved."""

    key: str
    kind: str
    capacity: float | None
    planned: float

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Resource.kind must be one of {KINDS}, got {self.kind!r}")


@dataclass(frozen=True, slots=True)
class Contribution:
    """One client's forecast share of a primary resource's demand, as if it were on the primary."""

    client: Client
    resource_key: str
    planned: float


@dataclass(frozen=True, slots=True)
class ShadowResource:
    """A shadow link or twin host: capacity and forecast load without clients relieved here."""

    key: str
    capacity: float | None
    planned: float


@dataclass(frozen=True, slots=True)
class Detour:
    """What relieving `client` adds to shadow resource `shadow_key` (service None: its path)."""

    client: Client
    shadow_key: str
    planned: float
    service: str | None = None


@dataclass(frozen=True, slots=True)
class Relieved:
    """A client off the primary: relief, resource it relieved, since when, below `lower` since."""

    client: Client
    relief: str
    resource: str
    since: float
    below_since: float | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """`move`/`return` a client off/onto a resource by `relief`, or `scale` a shadow resource."""

    kind: str
    client: Client | None
    resource: str
    relief: str
    at: float
    reason: str
    instances: int = 0
    blocked: tuple[str, ...] = ()


_Key = tuple[Client, str, str | None]  # (client, relief, service key for a twin else None)


@dataclass(frozen=True)
class Preempter:
    """Who is relieved, across forecast rounds, as a value: `decide` takes `now` and returns
    the new preempter with its decisions; the old one is left as it was."""

    policy: PreemptPolicy = field(default_factory=PreemptPolicy)
    entries: FrozenMap[_Key, Relieved] = EMPTY  # who is relieved, by (client, relief, service)
    over: FrozenMap[str, int] = EMPTY  # resource key -> consecutive rounds over `upper`

    def relieved(self) -> list[Relieved]:
        """The clients currently off the primary, ordered by relief, resource and client."""
        return sorted(self.entries.values(),
                      key=lambda e: (e.relief, e.resource, repr(e.client)))

    def retuned(self, policy: PreemptPolicy) -> Preempter:
        """This preempter under a new policy."""
        return self if policy == self.policy else replace(self, policy=policy)

    def forget(self, gone: Callable[[Client], bool]) -> Preempter:
        """Without the relief of every client `gone(client)` says no longer concerns us."""
        dropped = [k for k, e in self.entries.items() if gone(e.client)]
        return replace(self, entries=self.entries.without(*dropped)) if dropped else self

    def decide(self, now: float, resources: Iterable[Resource],
               contributions: Iterable[Contribution], shadow: Iterable[ShadowResource] = (),
               detours: Iterable[Detour] = ()) -> tuple[Preempter, list[Decision]]:
        """This round's returns, then moves, then scaling requests (see the module
        docstring), and the preempter after them."""
        step = _Step(self.policy, self.entries.thaw(), self.over.thaw())
        r = _Round(self.policy, now, resources, contributions, shadow, detours, step.relieved)
        decisions = step.returns(r)
        decisions += step.moves(r)
        decisions += step.scales(r)
        return replace(self, entries=FrozenMap.owning(step.relieved),
                       over=FrozenMap.owning(step.over)), decisions


class _Step:
    """One round's scratch: the relieved clients and over-counts as they change (not state)."""

    def __init__(self, policy: PreemptPolicy, relieved: dict[_Key, Relieved],
                 over: dict[str, int]) -> None:
        self.policy = policy
        self.relieved = relieved  # copies, this step's own
        self.over = over

    def returns(self, r: _Round) -> list[Decision]:
        for key, entry in list(self.relieved.items()):
            below = None  # the clock resets whenever the condition fails
            if r.fits_back(key, entry):
                below = r.now if entry.below_since is None else entry.below_since
            self.relieved[key] = replace(entry, below_since=below)
        due = [(key, e) for key, e in self.relieved.items()
               if e.below_since is not None and r.now - e.below_since >= self.policy.hold]
        due.sort(key=lambda ke: (-r.footprint(ke[0]).get(ke[1].resource, 0.0), repr(ke[0][0]),
                                 ke[1].relief, ke[1].resource))
        decisions = []
        for key, entry in due:
            if not r.fits_back(key, entry):
                continue
            r.apply(key, +1)
            del self.relieved[key]
            res = r.resources.get(entry.resource)
            if res is None or not _known(res.capacity):
                numbers = f"{entry.resource} unknown or gone"
            else:
                numbers = (f"{res.kind} {res.key} planned {_rate(r.load[res.key])} of "
                           f"{_rate(res.capacity)} ({r.load[res.key] / res.capacity:.0%}) with "
                           f"it back < {self.policy.lower:.0%}")
            below = r.now if entry.below_since is None else entry.below_since  # never None here
            decisions.append(Decision(
                "return", entry.client, entry.resource, entry.relief, r.now,
                f"{numbers} for {r.now - below:.1f} s >= hold "
                f"{self.policy.hold:g} s"))
        return decisions

    def moves(self, r: _Round) -> list[Decision]:
        upper = self.policy.upper
        known = [(res, res.capacity) for res in r.resources.values() if _known(res.capacity)]
        known.sort(key=lambda rc: (-r.load[rc[0].key] / rc[1], rc[0].key))
        decisions = []
        over = {res.key: self.over.get(res.key, 0) + 1 for res, capacity in known
                if r.load[res.key] > upper * capacity}
        self.over = over
        for res, capacity in known:
            load, limit = r.load[res.key], upper * capacity
            if load <= limit or over[res.key] < self.policy.confirm:
                continue
            relief = RELIEFS[res.kind]
            excess = load - limit
            # Largest first: the k largest shares remove the most any k clients can, so the
            # first k that covers the excess is the fewest moves that can.
            candidates = sorted(
                ((amount, client) for client, amount in r.share[res.key].items()
                 if amount > 0.0 and _key(client, relief, res.key) not in self.relieved),
                key=lambda ac: (-ac[0], repr(ac[1])))
            picked: list[tuple[float, Client]] = []
            taken = 0.0
            for amount, client in candidates:
                picked.append((amount, client))
                taken += amount
                if taken >= excess:
                    break
            if not picked:
                continue
            keys = [_key(client, relief, res.key) for _, client in picked]
            added: dict[str, float] = defaultdict(float)
            for key in keys:
                for shadow_key, amount in r.detour(key).items():
                    added[shadow_key] += amount
            if any(r.overloads(shadow_key, amount) for shadow_key, amount in added.items()):
                r.block(res.key, relief, added)  # all or nothing: nobody moves for this one
                continue
            rounds = (f" in {over[res.key]} rounds running" if self.policy.confirm > 1
                      else "")
            head = (f"{res.kind} {res.key} planned {_rate(load)} of {_rate(capacity)} "
                    f"({load / capacity:.0%}) > {upper:.0%}{rounds}: excess {_rate(excess)}")
            covered = 0.0
            for i, ((amount, client), key) in enumerate(zip(picked, keys, strict=True), 1):
                r.apply(key, -1)
                self.relieved[key] = Relieved(client, relief, res.key, r.now)
                covered += amount
                decisions.append(Decision(
                    "move", client, res.key, relief, r.now,
                    f"{head}; move {i}/{len(picked)} takes {_rate(amount)} "
                    f"({_rate(covered)} taken so far)"))
        return decisions

    def scales(self, r: _Round) -> list[Decision]:
        upper, decisions = self.policy.upper, []
        touched: dict[str, set[str]] = defaultdict(set)  # shadow key -> reliefs using it
        for key in self.relieved:
            for shadow_key in r.detour(key):
                touched[shadow_key].add(key[1])
        for shadow_key, reliefs in r.blocked_reliefs.items():
            touched[shadow_key] |= reliefs
        for shadow_key, reliefs in sorted(touched.items()):
            spare = r.spare.get(shadow_key)
            if spare is None or not _known(spare.capacity):
                continue
            needed = r.used[shadow_key] + r.pending[shadow_key]
            limit = upper * spare.capacity
            if needed <= limit:
                continue
            lacking = needed - limit
            size = self.policy.instance_capacity or spare.capacity
            instances = max(1, math.ceil(lacking / size - 1e-9))  # 1e-9: float noise
            blocked = tuple(r.blocked[shadow_key])
            why = f"; blocks relief of {', '.join(blocked)}" if blocked else ""
            decisions.append(Decision(
                "scale", None, shadow_key, "path" if "path" in reliefs else "service", r.now,
                f"shadow {shadow_key} needs {_rate(needed)} of {_rate(spare.capacity)} "
                f"({needed / spare.capacity:.0%}) > {upper:.0%}: lacks {_rate(lacking)}{why}; "
                f"add {instances} x {_rate(size)}", instances, blocked))
        return decisions


class _Round:
    """One round's inputs indexed, and the loads as relief is applied (scratch, not state)."""

    def __init__(self, policy: PreemptPolicy, now: float, resources: Iterable[Resource],
                 contributions: Iterable[Contribution], shadow: Iterable[ShadowResource],
                 detours: Iterable[Detour], relieved: dict[_Key, Relieved]) -> None:
        self.policy, self.now = policy, now
        self.resources = {res.key: res for res in resources}
        self.share: dict[str, dict[Client, float]] = defaultdict(dict)
        for c in contributions:
            shares = self.share[c.resource_key]
            shares[c.client] = shares.get(c.client, 0.0) + max(c.planned, 0.0)
        self.spare = {s.key: s for s in shadow}
        self.extra: dict[tuple[Client, str | None], dict[str, float]] = defaultdict(dict)
        for d in detours:
            extra = self.extra[(d.client, d.service)]
            extra[d.shadow_key] = extra.get(d.shadow_key, 0.0) + max(d.planned, 0.0)
        self.load = {key: max(res.planned, 0.0) for key, res in self.resources.items()}
        self.used: dict[str, float] = defaultdict(float)
        for s in self.spare.values():
            self.used[s.key] = max(s.planned, 0.0)
        self.pending: dict[str, float] = defaultdict(float)
        self.blocked: dict[str, list[str]] = defaultdict(list)
        self.blocked_reliefs: dict[str, set[str]] = defaultdict(set)
        for key in relieved:
            self.apply(key, -1)

    def footprint(self, key: _Key) -> dict[str, float]:
        """The client's share of each primary resource this relief takes it off."""
        client, relief, service = key
        if relief == "service":
            return {service: self.share[service].get(client, 0.0)} if service else {}
        return {res.key: self.share[res.key][client] for res in self.resources.values()
                if res.kind == "link" and client in self.share[res.key]}

    def detour(self, key: _Key) -> dict[str, float]:
        """What this relief puts on each shadow resource."""
        client, relief, service = key
        return self.extra.get((client, service if relief == "service" else None), {})

    def apply(self, key: _Key, sign: int) -> None:
        """Put the client back on the primary (+1) or take it off onto the shadow (-1)."""
        for res_key, amount in self.footprint(key).items():
            if res_key in self.load:
                self.load[res_key] += sign * amount
        for shadow_key, amount in self.detour(key).items():
            self.used[shadow_key] -= sign * amount

    def fits_back(self, key: _Key, entry: Relieved) -> bool:
        """Every known resource the client would load again stays below `lower` with it back."""
        back = self.footprint(key)
        back.setdefault(entry.resource, 0.0)
        for res_key, amount in back.items():
            res = self.resources.get(res_key)
            if res is None or not _known(res.capacity):
                continue
            if self.load[res_key] + amount >= self.policy.lower * res.capacity:
                return False
        return True

    def overloads(self, shadow_key: str, amount: float) -> bool:
        """Whether adding `amount` takes a known shadow resource above `upper`."""
        spare = self.spare.get(shadow_key)
        if amount <= 0.0 or spare is None or not _known(spare.capacity):
            return False
        return self.used[shadow_key] + amount > self.policy.upper * spare.capacity

    def block(self, res_key: str, relief: str, added: dict[str, float]) -> None:
        """Remember what a blocked relief would have added, for the scaling request."""
        for shadow_key, amount in added.items():
            if amount > 0.0:
                self.pending[shadow_key] += amount
                self.blocked[shadow_key].append(res_key)
                self.blocked_reliefs[shadow_key].add(relief)


def _key(client: Client, relief: str, res_key: str) -> _Key:
    return (client, relief, res_key if relief == "service" else None)


def _known(capacity: float | None) -> TypeGuard[float]:
    return capacity is not None and _finite(capacity) and capacity > 0.0


def _finite(value: object) -> bool:
    return (not isinstance(value, bool) and isinstance(value, int | float)
            and math.isfinite(value))


def _rate(rate: float) -> str:
    return f"{rate * 8 / 1e6:.1f} Mbit/s"
