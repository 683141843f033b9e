"""Which flow counts whose demand on a switch, kept as the planner's parts come and go."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

Owner = tuple[str, str, str]
"""(network, host, direction): whose demand a flow's packets count."""


@dataclass
class Demand:
    """Which flow counts whose demand on one switch, kept as parts come and go.

    A service host's rx is counted by its steering entry, not its delivery
    entry (see `compiler.service_steering`): while a steering part names an
    owner, the other parts' entries for that owner do not count.
    """

    held: dict[int, int] = field(default_factory=dict)  # cookie -> parts holding it
    base: dict[int, Owner] = field(default_factory=dict)  # other parts' cookies
    by_owner: dict[Owner, set[int]] = field(default_factory=dict)
    steer_held: dict[int, int] = field(default_factory=dict)
    steer: dict[int, Owner] = field(default_factory=dict)  # steering parts' cookies
    steered: dict[Owner, int] = field(default_factory=dict)  # steering parts naming owner

    def copy(self) -> Demand:
        """A copy to change without changing this one."""
        return Demand(dict(self.held), dict(self.base),
                       {o: set(c) for o, c in self.by_owner.items()}, dict(self.steer_held),
                       dict(self.steer), dict(self.steered))

    def merge(self, out: dict[int, Owner], src: Mapping[int, Owner], steering: bool) -> None:
        """A part's entries `src` come in; `out` (the switch's demand) follows."""
        if not steering:
            for cookie, owner in src.items():
                if hold_count(self.held, cookie):
                    continue
                self.base[cookie] = owner
                self.by_owner.setdefault(owner, set()).add(cookie)
                if owner not in self.steered and cookie not in self.steer:
                    out[cookie] = owner
            return
        for owner in set(src.values()):
            if not hold_count(self.steered, owner):
                for cookie in self.by_owner.get(owner, ()):
                    if cookie not in self.steer:
                        out.pop(cookie, None)
        for cookie, owner in src.items():
            if not hold_count(self.steer_held, cookie):
                self.steer[cookie] = owner
                out[cookie] = owner

    def unmerge(self, out: dict[int, Owner], src: Mapping[int, Owner], steering: bool) -> None:
        """A part's entries `src` go; `out` (the switch's demand) follows."""
        if not steering:
            for cookie, owner in src.items():
                if not release_count(self.held, cookie):
                    continue
                del self.base[cookie]
                cookies = self.by_owner[owner]
                cookies.discard(cookie)
                if not cookies:
                    del self.by_owner[owner]
                if cookie not in self.steer:
                    out.pop(cookie, None)
            return
        gone = [c for c in src if release_count(self.steer_held, c)]
        for cookie in gone:
            del self.steer[cookie]
            out.pop(cookie, None)
        for owner in set(src.values()):
            if release_count(self.steered, owner):
                for cookie in self.by_owner.get(owner, ()):
                    if cookie not in self.steer:
                        out[cookie] = owner
        for cookie in gone:
            kept = self.base.get(cookie)
            if kept is not None and kept not in self.steered:
                out[cookie] = kept


def hold_count(counts: dict[Any, int], key: Hashable) -> bool:
    """Count one more holder of `key`; True if it already had one."""
    n = counts.get(key, 0)
    counts[key] = n + 1
    return n > 0


def release_count(counts: dict[Any, int], key: Hashable) -> bool:
    """Count one holder of `key` less; True if that was the last."""
    n = counts[key] - 1
    if n:
        counts[key] = n
        return False
    del counts[key]
    return True
