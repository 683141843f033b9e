"""Intents: pure changes, the same value when nothing changes, read-only blocks."""

from __future__ import annotations

import pytest

from sdn_shadow.intents import Intents
from sdn_shadow.openflow.compiler import SourceLimit

A1, A2 = ("tenant-a", "h1"), ("tenant-a", "h2")


def test_a_change_returns_a_new_value_and_leaves_the_old_one() -> None:
    before = Intents()
    after = before.with_client_path(A1, "shadow")
    assert before.shadow_path == frozenset() and after.shadow_path == {A1}
    assert after.with_client_path(A1, "primary") == before


def test_nothing_changed_keeps_the_same_sets() -> None:
    intents = Intents(shadow_path=frozenset({A1}))
    assert intents.with_client_path(A1, "shadow").shadow_path is intents.shadow_path
    assert intents.with_client_service(A2, "primary").twin_service is intents.twin_service


@pytest.mark.parametrize(("change", "value", "message"), [
    ("with_client_path", "sideways", "path must be primary or shadow, not 'sideways'"),
    ("with_client_service", "shadow", "service must be primary or twin, not 'shadow'"),
    ("with_host_served", "itself", "by must be primary or twin, not 'itself'"),
])
def test_a_bad_value_is_refused_with_its_name(change, value, message) -> None:
    with pytest.raises(ValueError, match=message):
        getattr(Intents(), change)(A1, value)


def test_blocks_are_a_read_only_copy() -> None:
    blocks = {("tenant-a", "10.0.0.9"): SourceLimit(1, 500)}
    intents = Intents().with_blocks(blocks)
    blocks.clear()
    assert dict(intents.blocks) == {("tenant-a", "10.0.0.9"): SourceLimit(1, 500)}
    with pytest.raises(TypeError):
        intents.blocks[("tenant-a", "10.0.0.8")] = None  # type: ignore[index]
    assert intents == Intents(blocks={("tenant-a", "10.0.0.9"): SourceLimit(1, 500)})


def test_kept_drops_what_a_new_configuration_no_longer_has() -> None:
    link = frozenset({"s1", "s2"})
    intents = Intents(shadow_path=frozenset({A1, A2}), failed_links=frozenset({link}),
                      roles_swapped=frozenset({A1}), shadow_active=frozenset({"tenant-a"}),
                      taken_over=frozenset({A2}))
    kept = intents.kept(clients=[A1], links=[], standable=[], networks=[])
    assert kept.shadow_path == {A1} and kept.failed_links == frozenset()
    assert kept.roles_swapped == frozenset() and kept.shadow_active == frozenset()
    assert kept.taken_over == {A2}, "takeovers are the caller's to filter"
