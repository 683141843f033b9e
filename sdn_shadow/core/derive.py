"""Views derived from a configuration's networks, brought to the next configuration by
what changed: an edit of one network costs that network, not every network's walk."""

from __future__ import annotations

from sdn_shadow.config.model import Network

MAX_EDITS = 4
"""More networks changed than this: the views are derived whole again."""

Edit = tuple[Network | None, Network]  # (as it was, or None when added; as it is now)


def edits(old: tuple[Network, ...], new: tuple[Network, ...]) -> list[Edit] | None:
    """The networks `new` changes from `old`, when a few changed in place (same name, same
    position) or were added at the end; None for any other change (removed, reordered, many).
    Compared by identity: an unchanged network is the same object in both."""
    if len(new) < len(old):
        return None
    changed: list[Edit] = [(a, b) for a, b in zip(old, new, strict=False) if a is not b]
    if len(changed) + len(new) - len(old) > MAX_EDITS:
        return None
    if any(a is not None and a.name != b.name for a, b in changed):
        return None
    changed += [(None, b) for b in new[len(old):]]
    return changed
