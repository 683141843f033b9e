"""Count the robustness suite's hostile inputs and their four checks, and print the totals.

Each test of the suite calls `record(area, name, clear=..., alive=..., intact=...,
memory=...)` once per input it tried, with what it saw (None: the check does not
apply, e.g. memory for an in-process parser). `pytest_terminal_summary` (imported
by tests/conftest.py) prints one line of totals and writes them as JSON to
`robustness.json` in pytest's base temporary directory, so the issue note can quote
inputs tried, answered clearly, process alive, state intact and memory bounded.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CHECKS = ("clear", "alive", "intact", "memory")


@dataclass(frozen=True)
class Outcome:
    """One hostile input and what its four checks saw (None: not applicable)."""

    area: str
    name: str
    clear: bool
    alive: bool | None = None
    intact: bool | None = None
    memory: bool | None = None


OUTCOMES: list[Outcome] = []


def record(area: str, name: str, *, clear: bool, alive: bool | None = None,
           intact: bool | None = None, memory: bool | None = None) -> Outcome:
    """Count one input; returns its outcome, so a test can assert on it afterwards."""
    outcome = Outcome(area, name[:200], clear, alive, intact, memory)
    OUTCOMES.append(outcome)
    return outcome


def passed(outcome: Outcome) -> bool:
    """Whether every check that applies held."""
    return all(getattr(outcome, check) is not False for check in CHECKS)


def totals(outcomes: list[Outcome]) -> dict[str, Any]:
    """Inputs tried and, per check, how many held and how many it applied to; by area too."""
    result: dict[str, Any] = {"inputs": len(outcomes)}
    for check in CHECKS:
        seen = [getattr(o, check) for o in outcomes if getattr(o, check) is not None]
        result[check] = {"held": sum(seen), "applies": len(seen)}
    result["areas"] = dict(sorted(Counter(o.area for o in outcomes).items()))
    result["failed"] = [asdict(o) for o in outcomes if not passed(o)]
    return result


def summary_line(result: dict[str, Any]) -> str:
    """`robustness: N inputs tried, ...` for the terminal and the issue note."""
    def part(check: str, words: str) -> str:
        held, applies = result[check]["held"], result[check]["applies"]
        return f"{held}/{applies} {words}"
    areas = ", ".join(f"{area} {n}" for area, n in result["areas"].items())
    return (f"robustness: {result['inputs']} inputs tried; {part('clear', 'answered clearly')}"
            f", {part('alive', 'process alive')}, {part('intact', 'state intact')}, "
            f"{part('memory', 'memory bounded')} ({areas})")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Print the totals and write them to robustness.json when the suite ran any input."""
    if not OUTCOMES:
        return
    result = totals(OUTCOMES)
    terminalreporter.write_line(summary_line(result))
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is not None:
        path = Path(factory.getbasetemp()) / "robustness.json"
        path.write_text(json.dumps(result, indent=1) + "\n")
        terminalreporter.write_line(f"robustness: totals written to {path}")
