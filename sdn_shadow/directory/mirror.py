"""LDAP mirroring decisions, pure: shadow entries, minimal ordered operations, drift.

Entry maps keyed by DN are re-keyed here by `norm_dn(entry.dn)`, so callers may
key them however they like; every map this module returns is keyed by norm_dn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sdn_shadow.directory.dn import (
    depth,
    norm_dn,
    rdn_avas,
    rebase_dn,
    split_dn,
    try_norm_dn,
    within,
)
from sdn_shadow.directory.rules import MappingRule, apply_rules, parse_rule

__all__ = [
    "DN_ATTRIBUTES", "OPERATIONAL", "Add", "Delete", "Drift", "Entry", "MappingRule", "ModDN",
    "Modify", "Op", "by_dn", "drift", "expected_shadow", "norm_dn", "parse_rule", "plan",
    "preserve_drift", "rebase_dn", "record_after", "renames", "same_entry", "shadow_of",
    "simulate",
]

OPERATIONAL = frozenset({
    "modifytimestamp", "entrycsn", "entryuuid", "createtimestamp", "creatorsname",
    "modifiersname", "structuralobjectclass", "entrydn", "subschemasubentry",
    "hassubordinates", "numsubordinates", "contextcsn",
})
"""Attributes the server keeps by itself: never written, never compared."""

DN_ATTRIBUTES = frozenset({
    "member", "uniquemember", "seealso", "owner", "manager", "roleoccupant",
})
"""Attributes whose values are DNs: rebased when they point inside the primary subtree."""


@dataclass(frozen=True)
class Entry:
    """One LDAP entry: its DN and attributes (names lower-cased, values in server order)."""

    dn: str
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, dn: str, attributes: Mapping[str, Iterable[str] | str]) -> Entry:
        """An entry from loosely typed attributes: any name case, a str or an iterable."""
        attrs: dict[str, tuple[str, ...]] = {}
        for name, values in attributes.items():
            found = (values,) if isinstance(values, str) else tuple(values)
            attrs[name.lower()] = attrs.get(name.lower(), ()) + found
        return cls(dn, attrs)

    @property
    def uuid(self) -> str | None:
        """The server's entryUUID, when it was read."""
        values = self.attributes.get("entryuuid")
        return values[0].lower() if values else None

    def user_attributes(self) -> dict[str, tuple[str, ...]]:
        """The attributes without the operational ones."""
        return {k: v for k, v in self.attributes.items() if k not in OPERATIONAL}


@dataclass(frozen=True)
class Add:
    """Add an entry."""

    dn: str
    attributes: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Modify:
    """Modify an entry: `replace` sets whole attributes, `delete` removes them."""

    dn: str
    replace: Mapping[str, tuple[str, ...]]
    delete: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModDN:
    """Rename (and maybe move) an entry with its subtree; the old RDN value is deleted."""

    dn: str
    new_dn: str

    @property
    def new_rdn(self) -> str:
        """The new RDN."""
        return split_dn(self.new_dn)[0]

    @property
    def new_superior(self) -> str | None:
        """The new parent DN, or None when the entry stays under the same parent."""
        old_parent, new_parent = split_dn(self.dn)[1:], split_dn(self.new_dn)[1:]
        if [norm_dn(p) for p in old_parent] == [norm_dn(p) for p in new_parent]:
            return None
        return ",".join(new_parent)


@dataclass(frozen=True)
class Delete:
    """Delete a leaf entry."""

    dn: str


Op = Add | Modify | ModDN | Delete


@dataclass(frozen=True)
class Drift:
    """A difference between the shadow and what the primary implies.

    `kind` is "extra" (entry only in the shadow), "missing" (entry absent from
    the shadow) or "changed" (one attribute differs; `attribute` names it).
    """

    dn: str
    kind: str
    attribute: str | None = None
    expected: tuple[str, ...] = ()
    actual: tuple[str, ...] = ()

    def __str__(self) -> str:
        """One readable line."""
        if self.kind != "changed":
            return f"{self.kind} entry {self.dn}"
        return (f"changed {self.dn} {self.attribute}: expected {list(self.expected)}, "
                f"found {list(self.actual)}")


def by_dn(entries: Iterable[Entry]) -> dict[str, Entry]:
    """Entries keyed by normalised DN."""
    return {norm_dn(e.dn): e for e in entries}


def _rekey(entries: Mapping[str, Entry]) -> dict[str, Entry]:
    """A map re-keyed by normalised DN."""
    return by_dn(entries.values())


def _swap_naming(attributes: Mapping[str, tuple[str, ...]], old_rdn: str,
                 new_rdn: str) -> dict[str, tuple[str, ...]]:
    """Attributes after a rename: the old RDN's values removed, the new RDN's added."""
    result = dict(attributes)
    for kind, value in rdn_avas(old_rdn):
        kept = tuple(v for v in result.get(kind, ()) if v.lower() != value.lower())
        if kept:
            result[kind] = kept
        else:
            result.pop(kind, None)
    for kind, value in rdn_avas(new_rdn):
        values = result.get(kind, ())
        if all(v.lower() != value.lower() for v in values):
            result[kind] = values + (value,)
    return result


def shadow_of(entry: Entry, primary_base: str, shadow_base: str,
              rules: Iterable[MappingRule] = (),
              dn_attributes: Iterable[str] = DN_ATTRIBUTES) -> Entry:
    """The shadow's copy of a primary entry.

    The DN is rebased, and so is every value of a DN-valued attribute that lies
    inside the primary subtree (values outside it are kept). The primary base
    entry itself gets the shadow base's naming value in place of its own. Then
    the mapping rules apply, in order; they do not change the DN, so a rule
    that rewrites the naming attribute makes the server reject the entry.
    Operational attributes are left out.
    """
    dn_names = {n.lower() for n in dn_attributes}
    attrs: dict[str, tuple[str, ...]] = {}
    for name, values in entry.user_attributes().items():
        if name in dn_names:
            values = tuple(_rebase_value(v, primary_base, shadow_base) for v in values)
        attrs[name] = values
    if norm_dn(entry.dn) == norm_dn(primary_base):
        attrs = _swap_naming(attrs, split_dn(primary_base)[0], split_dn(shadow_base)[0])
    return Entry(rebase_dn(entry.dn, primary_base, shadow_base), apply_rules(attrs, rules))


def _rebase_value(value: str, primary_base: str, shadow_base: str) -> str:
    """A DN value rebased when it points inside the primary subtree, else unchanged."""
    try:
        return rebase_dn(value, primary_base, shadow_base) if within(
            value, primary_base) else value
    except ValueError:
        return value


def expected_shadow(primary: Mapping[str, Entry], primary_base: str, shadow_base: str,
                    rules: Iterable[MappingRule] = (),
                    dn_attributes: Iterable[str] = DN_ATTRIBUTES) -> dict[str, Entry]:
    """What the shadow subtree should hold for this primary subtree."""
    rules = tuple(rules)
    return by_dn(shadow_of(e, primary_base, shadow_base, rules, dn_attributes)
                 for e in primary.values() if within(e.dn, primary_base))


def renames(primary: Mapping[str, Entry], known: Mapping[str, str], primary_base: str,
            shadow_base: str) -> dict[str, str]:
    """Shadow moves implied by primary renames: {new shadow DN: recorded shadow DN}.

    `known` maps a primary entry's entryUUID to the shadow DN its copy had.
    """
    moves = {}
    for entry in primary.values():
        recorded = known.get(entry.uuid or "")
        if recorded is None or not within(entry.dn, primary_base):
            continue
        target = rebase_dn(entry.dn, primary_base, shadow_base)
        if norm_dn(target) != norm_dn(recorded):
            moves[target] = recorded
    return moves


def _values_key(name: str, values: tuple[str, ...], dn_names: frozenset[str]) -> tuple:
    """Values in a comparable form: order ignored, DN values normalised."""
    if name in dn_names:
        return tuple(sorted(try_norm_dn(v) or v.lower() for v in values))
    return tuple(sorted(values))


def _differences(current: Entry, target: Entry, dn_names: frozenset[str]) -> list[str]:
    """Attribute names whose values differ (operational attributes ignored)."""
    have, want = current.user_attributes(), target.user_attributes()
    return sorted(name for name in have.keys() | want.keys()
                  if name not in have or name not in want
                  or _values_key(name, have[name], dn_names)
                  != _values_key(name, want[name], dn_names))


def same_entry(a: Entry, b: Entry, dn_attributes: Iterable[str] = DN_ATTRIBUTES) -> bool:
    """Whether two entries have the same DN and user attributes (value order ignored)."""
    dn_names = frozenset(n.lower() for n in dn_attributes)
    return norm_dn(a.dn) == norm_dn(b.dn) and not _differences(a, b, dn_names)


def _move(state: dict[str, Entry], source: str, target_dn: str) -> None:
    """Move the entry at normalised `source` and its subtree to `target_dn`, in place."""
    target = norm_dn(target_dn)
    source_dn = state[source].dn
    cut = depth(source_dn)
    for key in [k for k in state if within(k, source)]:
        entry = state.pop(key)
        if key == source:
            attrs = _swap_naming(entry.attributes, split_dn(source_dn)[0],
                                 split_dn(target_dn)[0])
            state[target] = Entry(target_dn, attrs)
        else:
            rdns = split_dn(entry.dn)
            dn = ",".join(rdns[:len(rdns) - cut] + split_dn(target_dn))
            state[norm_dn(dn)] = Entry(dn, entry.attributes)


def _relocate(key: str, moved: list[tuple[str, str]]) -> str:
    """Where normalised `key` is after the subtree moves made so far."""
    for source, target in moved:
        if within(key, source):
            key = ",".join(split_dn(key)[:depth(key) - depth(source)] + split_dn(target))
    return key


def _modify(current: Entry, target: Entry, dn_names: frozenset[str]) -> Modify | None:
    """The per-attribute replace/delete bringing `current` to `target`, or None."""
    want = target.user_attributes()
    changed = _differences(current, target, dn_names)
    if not changed:
        return None
    replace = {name: want[name] for name in changed if name in want}
    delete = tuple(name for name in changed if name not in want)
    return Modify(current.dn, replace, delete)


def plan(expected: Mapping[str, Entry], shadow: Mapping[str, Entry],
         moves: Mapping[str, str] | None = None,
         dn_attributes: Iterable[str] = DN_ATTRIBUTES) -> list[Op]:
    """The minimal ordered operations that turn `shadow` into `expected`.

    Adds and renames go parents first, then one Modify per changed entry
    (changed attributes only), then Deletes children first. `moves` maps an
    expected DN to the shadow DN its entry had (see `renames`): such an entry is
    renamed with its subtree instead of deleted and added again.
    """
    dn_names = frozenset(n.lower() for n in dn_attributes)
    target = _rekey(expected)
    current = _rekey(shadow)
    sources = {norm_dn(t): norm_dn(s) for t, s in (moves or {}).items()}
    moved: list[tuple[str, str]] = []
    ops: list[Op] = []
    order = sorted(target, key=lambda k: (depth(k), k))
    for key in order:
        if key in current:
            continue
        source = sources.get(key)
        if source is not None:
            source = _relocate(source, moved)
        if (source is not None and source in current and source not in target
                and not within(key, source)):
            ops.append(ModDN(current[source].dn, target[key].dn))
            _move(current, source, target[key].dn)
            moved.append((source, key))
            continue
        ops.append(Add(target[key].dn, target[key].user_attributes()))
        current[key] = Entry(target[key].dn, target[key].user_attributes())
    for key in order:
        modify = _modify(current[key], target[key], dn_names)
        if modify is not None:
            ops.append(modify)
    for key in sorted(current.keys() - target.keys(), key=lambda k: (-depth(k), k)):
        ops.append(Delete(current[key].dn))
    return ops


def simulate(state: Mapping[str, Entry], ops: Iterable[Op]) -> dict[str, Entry]:
    """The entries after `ops` were applied to `state` (which is left as it was)."""
    result = _rekey(state)
    for op in ops:
        key = norm_dn(op.dn)
        if isinstance(op, Add):
            result[key] = Entry(op.dn, dict(op.attributes))
        elif isinstance(op, Delete):
            result.pop(key, None)
        elif isinstance(op, ModDN):
            if key in result:
                _move(result, key, op.new_dn)
        elif key in result:
            attrs = dict(result[key].attributes)
            attrs.update(op.replace)
            for name in op.delete:
                attrs.pop(name, None)
            result[key] = Entry(result[key].dn, attrs)
    return result


def drift(expected: Mapping[str, Entry], shadow: Mapping[str, Entry],
          dn_attributes: Iterable[str] = DN_ATTRIBUTES) -> list[Drift]:
    """How `shadow` differs from `expected`: extra and missing entries, changed attributes."""
    dn_names = frozenset(n.lower() for n in dn_attributes)
    want, have = _rekey(expected), _rekey(shadow)
    found: list[Drift] = []
    for key in sorted(want.keys() | have.keys(), key=lambda k: (depth(k), k)):
        if key not in have:
            found.append(Drift(want[key].dn, "missing"))
        elif key not in want:
            found.append(Drift(have[key].dn, "extra"))
        else:
            mine, theirs = want[key].user_attributes(), have[key].user_attributes()
            found.extend(Drift(have[key].dn, "changed", name, mine.get(name, ()),
                               theirs.get(name, ()))
                         for name in _differences(have[key], want[key], dn_names))
    return found


def preserve_drift(expected: Mapping[str, Entry], record: Mapping[str, Entry],
                   shadow: Mapping[str, Entry],
                   dn_attributes: Iterable[str] = DN_ATTRIBUTES) -> dict[str, Entry]:
    """`expected`, but drift (where `shadow` differs from `record`) kept as the shadow has it.

    `record` is what the primary implied last round. A change in the primary
    always wins; drift stays only where the primary has not changed since.
    """
    dn_names = frozenset(n.lower() for n in dn_attributes)
    want, last, have = _rekey(expected), _rekey(record), _rekey(shadow)
    result = dict(want)
    for key in last.keys() | have.keys():
        before, now, wanted = last.get(key), have.get(key), want.get(key)
        if before is None and now is not None:
            if wanted is None:
                result[key] = now
        elif before is not None and now is None:
            if wanted is not None and not _differences(wanted, before, dn_names):
                del result[key]
        elif before is not None and now is not None and wanted is not None:
            attrs = dict(wanted.user_attributes())
            drifted = _differences(now, before, dn_names)
            unchanged = set(drifted) - set(_differences(wanted, before, dn_names))
            for name in unchanged:
                if name in now.attributes:
                    attrs[name] = now.attributes[name]
                else:
                    attrs.pop(name, None)
            result[key] = Entry(wanted.dn, attrs)
    return result


def record_after(expected: Mapping[str, Entry], previous: Mapping[str, Entry],
                 failed: Iterable[Op]) -> dict[str, Entry]:
    """The record after a round: `expected`, but entries whose operation failed as before.

    `previous` is the last record (or, on a first round, the shadow as read). A
    failed rename keeps both its old and its new subtree as they were.
    """
    result, before = _rekey(expected), _rekey(previous)
    for op in failed:
        if isinstance(op, ModDN):
            roots = (norm_dn(op.dn), norm_dn(op.new_dn))
            keys = [k for k in result.keys() | before.keys() if any(within(k, r) for r in roots)]
        else:
            keys = [norm_dn(op.dn)]
        for key in keys:
            if key in before:
                result[key] = before[key]
            else:
                result.pop(key, None)
    return result
