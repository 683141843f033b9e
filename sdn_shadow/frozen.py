"""A read-only mapping for runtime values: changed only by making a new one (pure).

`FrozenMap` is what the runtime values (health, preemption, the watch, profiles)
keep their per-key state in. Nothing changes it in place: `set`, `without` and
`updated` return a new map, and a step that changes many keys makes one new
map with `updated` rather than one per key. Unlike `types.MappingProxyType` it
can be deep-copied and pickled, and two maps compare by their items.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import Any, Generic, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """A mapping nobody changes in place; its changes are new maps, in insertion order."""

    __slots__ = ("_items",)

    _items: dict[K, V]

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        self._items = dict(items)

    @classmethod
    def owning(cls, items: dict[K, V]) -> FrozenMap[K, V]:
        """A map over `items` without a copy: the caller hands it over and never changes it."""
        new: FrozenMap[K, V] = cls.__new__(cls)
        new._items = items
        return new

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    @overload
    def get(self, key: K) -> V | None: ...

    @overload
    def get(self, key: K, default: V | D) -> V | D: ...

    def get(self, key: K, default: Any = None) -> Any:
        """The value of `key`, `default` if it has none."""
        return self._items.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> KeysView[K]:
        """The keys, as the underlying dict's (fast) view."""
        return self._items.keys()

    def values(self) -> ValuesView[V]:
        """The values, as the underlying dict's (fast) view."""
        return self._items.values()

    def items(self) -> ItemsView[K, V]:
        """The items, as the underlying dict's (fast) view."""
        return self._items.items()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self._items == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (self._items,))

    def read(self) -> Mapping[K, V]:
        """The items as a plain mapping to read in tight loops (never to change)."""
        return self._items

    def thaw(self) -> dict[K, V]:
        """A new plain dict of the items (the caller's to change)."""
        return dict(self._items)

    def set(self, key: K, value: V) -> FrozenMap[K, V]:
        """This map with `key` set to `value`."""
        items = dict(self._items)
        items[key] = value
        return FrozenMap.owning(items)

    def without(self, *keys: K) -> FrozenMap[K, V]:
        """This map without `keys` (the same map when none of them is in it)."""
        if not any(key in self._items for key in keys):
            return self
        items = dict(self._items)
        for key in keys:
            items.pop(key, None)
        return FrozenMap.owning(items)

    def updated(self, changes: Mapping[K, V], removed: Iterable[K] = ()) -> FrozenMap[K, V]:
        """This map with `changes` set and `removed` dropped, in one copy (the same map when
        there is nothing to do)."""
        removed = [key for key in removed if key in self._items]
        if not changes and not removed:
            return self
        items = dict(self._items)
        items.update(changes)
        for key in removed:
            items.pop(key, None)
        return FrozenMap.owning(items)


EMPTY: FrozenMap[Any, Any] = FrozenMap()

SHARDS = 64  # a ShardedMap's per-key change copies about 1/SHARDS of it


class ShardedMap(Mapping[K, V], Generic[K, V]):
    """A read-only mapping for many keys changed a few at a time: a change copies only the
    shards (of `SHARDS`) its keys fall in and shares the rest with the old map.

    Iteration is in insertion order, like a dict's (a key set again keeps its
    place; one removed and added again goes last); it sorts, so it costs
    O(n log n): for maps changed often and iterated seldom.
    """

    __slots__ = ("_shards", "_len", "_next")

    _shards: tuple[dict[K, tuple[int, V]], ...]  # key -> (insertion number, value)
    _len: int
    _next: int

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        shards: list[dict[K, tuple[int, V]]] = [{} for _ in range(SHARDS)]
        self._shards, self._len, self._next = (), 0, 0
        self._shards, self._len, self._next = self._changed(shards, dict(pairs), ())

    def _changed(self, shards: list[dict[K, tuple[int, V]]], changes: Mapping[K, V],
                 removed: Iterable[K]) -> tuple[tuple[dict[K, tuple[int, V]], ...], int, int]:
        """`shards` (a list over this map's shards) with `changes` and `removed` made in
        copies of the shards they touch: (shards, length, next insertion number)."""
        own: set[int] = set()
        size, seq = self._len, self._next
        for key in removed:
            i = hash(key) % SHARDS
            if key not in shards[i]:
                continue
            if i not in own:
                shards[i] = dict(shards[i])
                own.add(i)
            del shards[i][key]
            size -= 1
        for key, value in changes.items():
            i = hash(key) % SHARDS
            if i not in own:
                shards[i] = dict(shards[i])
                own.add(i)
            old = shards[i].get(key)
            if old is None:
                shards[i][key] = (seq, value)
                seq, size = seq + 1, size + 1
            else:
                shards[i][key] = (old[0], value)
        return tuple(shards), size, seq

    def __getitem__(self, key: K) -> V:
        return self._shards[hash(key) % SHARDS][key][1]

    def __contains__(self, key: object) -> bool:
        return key in self._shards[hash(key) % SHARDS]

    def __len__(self) -> int:
        return self._len

    def _ordered(self) -> list[tuple[K, tuple[int, V]]]:
        entries = [entry for shard in self._shards for entry in shard.items()]
        entries.sort(key=lambda entry: entry[1][0])
        return entries

    def __iter__(self) -> Iterator[K]:
        return iter([key for key, _ in self._ordered()])

    def items(self) -> ItemsView[K, V]:
        """The items in insertion order (a snapshot)."""
        return {key: value for key, (_, value) in self._ordered()}.items()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        if len(other) != self._len:
            return False
        missing = object()
        return all(other.get(key, missing) == value
                   for shard in self._shards for key, (_, value) in shard.items())

    def __hash__(self) -> int:
        return hash(frozenset((key, value) for shard in self._shards
                              for key, (_, value) in shard.items()))

    def __repr__(self) -> str:
        return f"ShardedMap({dict(self.items())!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ShardedMap, (list(self.items()),))

    def updated(self, changes: Mapping[K, V], removed: Iterable[K] = ()) -> ShardedMap[K, V]:
        """This map with `changes` set and `removed` dropped (the same map when there is
        nothing to do)."""
        removed = [key for key in removed if key in self]
        if not changes and not removed:
            return self
        new: ShardedMap[K, V] = ShardedMap.__new__(ShardedMap)
        new._shards, new._len, new._next = self._changed(list(self._shards), changes, removed)
        return new

    def set(self, key: K, value: V) -> ShardedMap[K, V]:
        """This map with `key` set to `value`."""
        return self.updated({key: value})

    def without(self, *keys: K) -> ShardedMap[K, V]:
        """This map without `keys` (the same map when none of them is in it)."""
        if len(keys) != 1:
            return self.updated({}, keys)
        key = keys[0]
        i = hash(key) % SHARDS
        shard = self._shards[i]
        if key not in shard:
            return self
        shard = dict(shard)
        del shard[key]
        new: ShardedMap[K, V] = ShardedMap.__new__(ShardedMap)
        new._shards = (*self._shards[:i], shard, *self._shards[i + 1:])
        new._len, new._next = self._len - 1, self._next
        return new
