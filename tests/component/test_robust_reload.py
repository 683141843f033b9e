"""SIGHUP with careless config files: refused or applied whole, and the poll loop goes on.

One app on the ring (fake datapaths, all synced) takes a reload of each input in
turn: the ring example mutated the way tests/unit/test_robust_config.py mutates it
(a fixed seed: the same inputs every run) and hostile texts (empty, binary, deep,
huge numbers, alias loops). For each: the reload is applied or refused with one-line
`key.path: reason` errors and no unexpected exception; polling went on in that
round; a refusal leaves the running config and plans as they were, and an applied
file is what runs (the running config is the file's). Counted (tests/robustness.py).
"""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest
import yaml
from os_ken.ofproto import ofproto_v1_3_parser as parser

from sdn_shadow.config import ConfigError, parse_config
from sdn_shadow.config.document import read_text
from sdn_shadow.control import reload as reloading
from tests.component.test_app_handlers import RING, all_synced, app  # noqa: F401 (fixture)
from tests.robustness import record
from tests.unit.test_robust_config import HOSTILE, TEXTS, mutate, paths

KINDS = ["delete", "replace", "replace", "duplicate", "rename", "wrap"]


def mutated_texts(count: int, seed: int = 20261207) -> list[tuple[str, str]]:
    """`count` (name, YAML text) pairs: the ring with one to three mutations each."""
    rng = random.Random(seed)
    original = yaml.safe_load(RING.read_text())
    out = []
    for i in range(count):
        doc, done = copy.deepcopy(original), []
        for _ in range(rng.randint(1, 3)):
            places = paths(doc)
            if not places:
                break
            done.append(mutate(doc, rng.choice(places), rng.choice(KINDS),
                               rng.choice(HOSTILE)))
        try:
            text = yaml.safe_dump(doc, allow_unicode=True)
        except (yaml.YAMLError, RecursionError):
            continue
        out.append((f"mutation {i}: {'; '.join(done)}", text))
    return out


INPUTS = mutated_texts(45) + [(f"text {i}: {t[:30]!r}", t) for i, t in enumerate(TEXTS)] + [
    ("stats_interval 0", RING.read_text().replace("stats_interval: 2", "stats_interval: 0")),
    ("a new switch", RING.read_text().replace("s4: {dpid: 4}", "s4: {dpid: 4}\n    s5: "
                                              "{dpid: 5}")),
    ("good again", RING.read_text())]


def test_careless_reloads_are_refused_or_taken_whole_and_polling_goes_on(
        app, monkeypatch) -> None:  # noqa: F811 (the fixture)
    dps = all_synced(app)
    run = app.run
    outcomes: list = []
    original = reloading.reload

    def watched(*args, **kwargs):
        outcomes.append(original(*args, **kwargs))
        return outcomes[-1]

    monkeypatch.setattr(reloading, "reload", watched)
    config_path = Path(run.settings.config_path)
    now = run.clock()
    failures = []
    for name, text in INPUTS:
        before, plans = run.core.config, dict(run.core.plans)
        for dp in dps.values():
            dp.clear()
        config_path.write_text(text)
        run.on_sighup(1, None)
        now += 10
        run.poll_round(now)
        outcome = outcomes[-1]
        errors = run.last_reload["errors"]
        refused = isinstance(outcome, reloading.Refused)
        clear = not refused or (bool(errors) and not outcome.unexpected and all(
            ": " in line and "\n" not in line and "Traceback" not in line for line in errors))
        alive = not run.reload_requested and all(
            dp.requests(parser.OFPPortStatsRequest) for dp in dps.values())
        if refused:
            intact = run.core.config is before and run.core.plans == plans
        else:
            intact = run.core.config == _parsed(text)
        outcome_record = record("reload", name, clear=clear, alive=alive, intact=intact)
        if not (outcome_record.clear and alive and intact):
            failures.append((name, errors, outcome_record))
    assert not failures, failures[:3]
    assert run.last_reload["result"] == "applied", "the good file at the end is taken"
    assert len(INPUTS) >= 55


def _parsed(text: str) -> object:
    try:
        return parse_config(read_text(text))
    except ConfigError:
        return None


@pytest.mark.parametrize("count", [3])
def test_a_sighup_storm_is_one_reload(app, count) -> None:  # noqa: F811 (the fixture)
    all_synced(app)
    run = app.run
    for _ in range(count):
        run.on_sighup(1, None)
    generation = run.core.reloads["generation"]
    run.poll_round(run.clock() + 10)
    run.poll_round(run.clock() + 20)
    assert run.core.reloads["generation"] == generation + 1 and not run.reload_requested
    record("reload", f"{count} SIGHUPs at once", clear=True, alive=True,
           intact=run.last_reload["result"] == "applied")
