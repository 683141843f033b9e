"""Watch and response, as the core plans them: the response's blocks as compiler input."""

from __future__ import annotations

from collections.abc import Mapping

from sdn_shadow.intents import Blocks
from sdn_shadow.openflow.compiler import SourceLimit
from sdn_shadow.policy.response import Block


def source_limits(blocks: Mapping[tuple[str, str], Block]) -> Blocks:
    """The response's blocks as the compiler takes them: None (drop) or the source's meter."""
    limits: dict[tuple[str, str], SourceLimit | None] = {
        key: None if b.slot is None or b.meter_kbps is None else SourceLimit(b.slot, b.meter_kbps)
        for key, b in blocks.items()}
    return limits
