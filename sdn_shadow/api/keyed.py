"""API changes as keys of the configuration document, laid over the file key by key (pure).

A change is one key path (`networks.tenant-a.shadow.mirror[h1-web]`), the
value the API gave it (JSON text; None: the API removed it) and the file's
value when the API changed it (`base`). Mappings are compared key by key;
a list of mappings that all have distinct `name`s (mirror sessions) item by
item when its items were only removed, replaced in place or appended (else
the list is one key, so its order is kept); anything else (a new network, a
list of hosts) is one key as a whole.

Laying changes over a file (`merge`):
- the file still has `base` there: the API's value applies;
- the file now has the API's value: the change is absorbed (dropped, nothing lost);
- the file has a third value (both changed the key): a conflict. The later
  one wins: the file's edit if the file was modified after the API's change,
  else the API's. Either way the conflict is reported once; a lost API change
  is dropped, a winning one takes the file's value as its new base;
- the file removed the mapping or list the key is in: the change is dropped
  and reported (there is nothing left to change).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Item:
    """A path step into a list of named mappings: the item called `name`."""

    name: str


Step = str | Item
Path = tuple[Step, ...]


def as_json(value: Any) -> str:
    """A value as canonical JSON text (what the store keeps and compares)."""
    return json.dumps(value, sort_keys=True, default=str)


def encode(path: Path) -> str:
    """A path as JSON text (a list of keys; an item step is {"name": ...})."""
    return json.dumps([s if isinstance(s, str) else {"name": s.name} for s in path])


def decode(text: str) -> Path:
    """The path `encode` wrote."""
    return tuple(s if isinstance(s, str) else Item(str(s["name"])) for s in json.loads(text))


def show(path: Path) -> str:
    """A path as the config's key paths read: `networks.a.shadow.mirror[h1-web]`."""
    out = ""
    for step in path:
        out += f"[{step.name}]" if isinstance(step, Item) else (f".{step}" if out else step)
    return out


@dataclass(frozen=True, slots=True)
class Change:
    """One key the API changed: its value and the file's value then (JSON; None: absent)."""

    path: Path
    value: str | None
    base: str | None
    at: float
    by: str

    @property
    def network(self) -> str:
        """The network the key belongs to."""
        return str(self.path[1]) if len(self.path) > 1 else ""


def _named(items: Any) -> dict[str, Any] | None:
    """A list of mappings with distinct string names by name (None: not such a list)."""
    if not isinstance(items, list):
        return None
    names = [i.get("name") if isinstance(i, dict) else None for i in items]
    named = [n for n in names if isinstance(n, str)]
    if len(named) != len(names) or len(set(named)) != len(named):
        return None
    return dict(zip(named, items, strict=True))


_ABSENT: Any = object()


def diff(base: Any, new: Any, path: Path) -> list[tuple[Path, str | None]]:
    """The keys under `path` whose value differs from `base` to `new` (JSON-able values;
    `_ABSENT` for a missing one), with the new value as JSON (None: removed)."""
    if base is not _ABSENT and new is not _ABSENT and as_json(base) == as_json(new):
        return []
    if base is _ABSENT and new is _ABSENT:
        return []
    if isinstance(base, dict) and isinstance(new, dict):
        out: list[tuple[Path, str | None]] = []
        for key in sorted(set(base) | set(new), key=str):
            out += diff(base.get(key, _ABSENT), new.get(key, _ABSENT), (*path, str(key)))
        return out
    old_items, new_items = _named(base), _named(new)
    if old_items is not None and new_items is not None and list(new_items) == [
            *(n for n in old_items if n in new_items), *(n for n in new_items
                                                         if n not in old_items)]:
        # only removed, replaced in place or appended (what the API does): item by item
        out = []
        for name in [*old_items, *(n for n in new_items if n not in old_items)]:
            out += diff(old_items.get(name, _ABSENT), new_items.get(name, _ABSENT),
                        (*path, Item(name)))
        return out
    return [(path, None if new is _ABSENT else as_json(new))]


def normal(document: Any) -> Any:
    """`document` as JSON would carry it (keys as strings, dates as text)."""
    return json.loads(as_json(document))


def lookup(document: Any, path: Path) -> Any:
    """The value at `path` in `document` (`_ABSENT` when a step is missing)."""
    node = document
    for step in path:
        if isinstance(step, Item):
            items = _named(node) if isinstance(node, list) else None
            if items is None and isinstance(node, list):  # names not distinct: first one
                items = {str(i.get("name")): i for i in reversed(node) if isinstance(i, dict)}
            node = _ABSENT if items is None else items.get(step.name, _ABSENT)
        else:
            node = node.get(step, _ABSENT) if isinstance(node, dict) else _ABSENT
        if node is _ABSENT:
            return _ABSENT
    return node


def value_at(document: Any, path: Path) -> str | None:
    """The JSON text of the value at `path` (None: absent)."""
    found = lookup(document, path)
    return None if found is _ABSENT else as_json(found)


def put(document: Any, path: Path, value: str | None) -> bool:
    """Set (or remove, `value` None) the key at `path` in place; False when what it is in
    is gone (a removal of something gone is done: True)."""
    parent = lookup(document, path[:-1]) if path[:-1] else document
    step = path[-1]
    if isinstance(step, Item):
        if not isinstance(parent, list):
            return value is None
        at = next((i for i, x in enumerate(parent)
                   if isinstance(x, dict) and x.get("name") == step.name), None)
        if value is None:
            if at is not None:
                del parent[at]
        elif at is None:
            parent.append(json.loads(value))
        else:
            parent[at] = json.loads(value)
        return True
    if not isinstance(parent, dict):
        return value is None
    if value is None:
        parent.pop(step, None)
    else:
        parent[step] = json.loads(value)
    return True


@dataclass
class Merged:
    """A file with the API's changes laid over it, and what the laying found."""

    file: Any  # the file's document, as JSON carries it
    document: Any  # the file with the changes over it
    applied: int = 0  # changes that took effect
    conflicts: list[str] = field(default_factory=list)  # one line per conflict
    drop: list[Path] = field(default_factory=list)  # changes to forget (absorbed or lost)
    rebase: dict[Path, str | None] = field(default_factory=dict)  # kept, new base
    legacy: list[Change] = field(default_factory=list)  # changes migrated from whole networks


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def merge(document: Any, changes: Iterable[Change], file_time: float | None = None
          ) -> Merged:
    """`document` (the file) with `changes` laid over it by the rules above."""
    plain = normal(document)
    out = Merged(plain, copy.deepcopy(document))
    if not isinstance(plain, dict) or not isinstance(plain.get("networks"), dict):
        return out  # the file itself is broken: the parser reports it
    for change in changes:  # in the order made: appended items keep their order
        now_there = value_at(plain, change.path)
        if now_there == change.value:
            out.drop.append(change.path)
            continue
        key = show(change.path)
        if change.value is not None and len(change.path) > 2 \
                and lookup(plain, change.path[:-1]) is _ABSENT:
            out.conflicts.append(f"{key}: the file no longer has what this API change is in; "
                                 "the change is dropped")
            out.drop.append(change.path)
            continue
        if now_there != change.base:
            api = f"over the API ({_when(change.at)} by {change.by})"
            edited = f"in the file ({_when(file_time)})" if file_time is not None else \
                "in the file"
            if file_time is not None and file_time > change.at:
                out.conflicts.append(f"{key}: changed {edited} and {api}; the file's edit is "
                                     "newer and stands, the API's change is dropped")
                out.drop.append(change.path)
                continue
            out.conflicts.append(f"{key}: changed {edited} and {api}; the API's change is "
                                 "newer and stands")
            out.rebase[change.path] = now_there
        if put(out.document, change.path, change.value):
            out.applied += 1
    return out


def network_changes(file: Any, name: str, spec: Any, at: float, by: str) -> list[Change]:
    """Network `name` set to `spec` (None: deleted) over the API, as changes against `file`."""
    path: Path = ("networks", name)
    new = _ABSENT if spec is None else normal(spec)
    return [Change(p, v, value_at(file, p), at, by)
            for p, v in diff(lookup(file, path), new, path)]
