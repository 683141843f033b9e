"""Mutated configs and templates: a Config, or `key.path: reason` problems, never a crash.

Hypothesis takes the valid examples (examples/ring.yaml, examples/lab.yaml,
examples/templates/web-tier.yaml with an instance for the lab) and mutates them:
keys deleted, values swapped for other types, huge, negative, NaN or infinite
numbers, long strings, unicode, deep nesting, duplicated names. The parser must
answer with a value or a ConfigError whose every problem is a one-line
`(key path, reason)` pair; the document it was given is left as it was. Each
example is counted (tests/robustness.py). Derandomized: the same examples every run.
"""

from __future__ import annotations

import copy
import math
import reprlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdn_shadow.config import ConfigError, parse_config
from sdn_shadow.config.document import read_text
from sdn_shadow.config.parse import validate_config
from sdn_shadow.templates import check_alone, instantiate, parse_instance, parse_template
from tests.robustness import record

ROOT = Path(__file__).resolve().parents[2]
RING = yaml.safe_load((ROOT / "examples" / "ring.yaml").read_text())
LAB = yaml.safe_load((ROOT / "examples" / "lab.yaml").read_text())
WEB_TIER = yaml.safe_load((ROOT / "examples" / "templates" / "web-tier.yaml").read_text())
INSTANCE = {"network": "web", "cidr": "10.1.0.0/24", "hosts": {
    "w1": {"switch": "s1", "port": 5, "mac": "00:00:00:00:0c:01", "ip": "10.1.0.1",
           "vm_type": "web", "twin": {"switch": "s1", "port": 6}},
    "w2": {"switch": "s2", "port": 2, "mac": "00:00:00:00:0c:02", "ip": "10.1.0.2",
           "vm_type": "web-large", "twin": {"switch": "s2", "port": 5}}}}

FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _deep(depth: int) -> Any:
    value: Any = "x"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


HOSTILE: list[Any] = [
    None, True, False, 0, -1, -(2**63), 2**64, 10**400, -(10**400), 1e300, -1e300,
    float("nan"), float("inf"), float("-inf"), 0.5, "", " ", "x" * 100_000, "ü" * 300,
    "\x00", "..", "../../etc/passwd", "%2e%2e", "a/b", "名前", "\u202e", "1" * 5000,
    [], {}, [None], {"": None}, {1: 2}, ["a", "a"], _deep(60), _deep(200),
    "00:00:00:00:00:00", "255.255.255.255/0", "s1:99999", "s1:-1", "s9:1",
]
# Hostile values go by their index (Hypothesis shows the index, not 3,000 levels of nesting).
VALUES = st.one_of(st.integers(0, len(HOSTILE) - 1).map(lambda i: ("hostile", i)),
                   st.text(max_size=40), st.integers(), st.floats(),
                   st.lists(st.integers(), max_size=3))


def _value(drawn: Any) -> Any:
    if isinstance(drawn, tuple) and drawn[:1] == ("hostile",):
        return HOSTILE[drawn[1]]
    return drawn


SHOW = reprlib.Repr()
SHOW.maxlevel, SHOW.maxstring, SHOW.maxother = 3, 40, 40


def _show(value: Any) -> str:
    """A short repr, safe for deep values."""
    return SHOW.repr(value)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a document (down to 40 levels): mapping keys and list indexes."""
    found = [prefix] if prefix else []
    if len(prefix) > 40:
        return found
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += paths(value, (*prefix, i))
    return found


def _parent(doc: Any, path: tuple) -> Any:
    for key in path[:-1]:
        doc = doc[key]
    return doc


def mutate(doc: Any, path: tuple, kind: str, value: Any) -> str:
    """Change `doc` in place at `path`; returns what was done (for the count's name)."""
    if not path:
        return "nothing"
    try:
        parent = _parent(doc, path)
        key = path[-1]
        if kind == "delete":
            del parent[key]
        elif kind == "replace":
            parent[key] = value
        elif kind == "duplicate" and isinstance(parent, dict):
            parent[f"{key}-copy" if isinstance(key, str) else key] = copy.deepcopy(parent[key])
        elif kind == "duplicate":
            parent.append(copy.deepcopy(parent[key]))
        elif kind == "rename" and isinstance(parent, dict):
            parent[value if isinstance(value, str) else _show(value)] = parent.pop(key)
        elif kind == "wrap":
            parent[key] = [parent[key]] if kind == "wrap" else parent[key]
    except (KeyError, IndexError, TypeError):
        return f"{kind} at {'.'.join(map(str, path))}: not applicable"
    return f"{kind} {'.'.join(map(str, path))} {_show(value)}"


MUTATION = st.tuples(st.sampled_from(["delete", "replace", "replace", "duplicate", "rename",
                                      "wrap"]), VALUES, st.integers(min_value=0))
MUTATIONS = st.lists(MUTATION, min_size=1, max_size=3)


def mutated(original: Any, mutations: list) -> tuple[Any, str]:
    """A mutated deep copy of `original` and a description of the mutations."""
    doc = copy.deepcopy(original)
    done = []
    for kind, value, pick in mutations:
        places = paths(doc)
        if not places:
            break
        done.append(mutate(doc, places[pick % len(places)], kind, _value(value)))
    return doc, "; ".join(done)


def well_formed(err: ConfigError) -> bool:
    """Every problem is a (key path, reason) pair of one-line, non-empty strings."""
    return bool(err.problems) and all(
        isinstance(path, str) and isinstance(reason, str) and reason.strip()
        and "\n" not in path and "\n" not in reason and len(path) <= 10_000
        for path, reason in err.problems)


def _same(a: Any, b: Any) -> bool:
    """Equal documents, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) and type(a) is type(b)


def answer(area: str, name: str, doc: Any, parse: Any) -> None:
    """Parse `doc`; count and check: a value or well-formed problems, and `doc` untouched."""
    kept = copy.deepcopy(doc)
    try:
        parse(doc)
        clear = True
    except ConfigError as err:
        clear = well_formed(err)
        if not clear:
            record(area, name, clear=False, alive=True, intact=_same(doc, kept))
        assert clear, (name, [(p[:100], r[:100]) for p, r in err.problems])
    except Exception:
        record(area, name, clear=False, alive=True, intact=_same(doc, kept))
        raise
    outcome = record(area, name, clear=clear, alive=True, intact=_same(doc, kept))
    assert outcome.intact, f"{name}: the parser changed the document it was given"


@FAST
@given(MUTATIONS, st.sampled_from(["ring", "lab"]))
def test_a_mutated_config_is_a_config_or_key_path_problems(mutations, which) -> None:
    doc, name = mutated(RING if which == "ring" else LAB, mutations)
    answer("config", f"{which}: {name}", doc, parse_config)


@settings(FAST, max_examples=40)
@given(MUTATIONS)
def test_mutated_config_text_reads_as_a_config_or_key_path_problems(mutations) -> None:
    doc, name = mutated(RING, mutations)
    try:
        text = yaml.safe_dump(doc, allow_unicode=True)
    except (yaml.YAMLError, RecursionError):
        text = "{" * 5000  # what does not dump is as deep as what does not load
    answer("config-text", name, text, lambda t: validate_config(read_text(t)))


@settings(FAST, max_examples=50)
@given(MUTATIONS)
def test_a_mutated_template_is_a_template_or_key_path_problems(mutations) -> None:
    doc, name = mutated(WEB_TIER, mutations)
    answer("template", name, doc, parse_template)


@settings(FAST, max_examples=50)
@given(MUTATIONS)
def test_a_mutated_instance_renders_or_names_its_problems(mutations) -> None:
    template = parse_template(WEB_TIER)
    doc, name = mutated(INSTANCE, mutations)

    def render(data: Any) -> None:
        instance = parse_instance(data, template)
        check_alone(template, instance)
        instantiate(template, instance, LAB)

    answer("template-instance", name, doc, render)


TEXTS = ["", "\x00\x01\x02", "{", "[" * 10_000, "a: [" * 3000, "&a [*a]",
         "!!python/object:os.system", "a: *b", "k: v\nk: w\n", "\ufeffcontroller: {}",
         "- 1\n- 2\n", "'" * 7,
         "fabric: {switches: {s1: {dpid: " + "9" * 5000 + "}}}", "networks: !!set {a, b}",
         "x: &a [*a, *a]\ny: [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"]


def test_hostile_config_text_is_answered_with_key_paths() -> None:
    for i, text in enumerate(TEXTS):
        answer("config-text", f"text {i}: {text[:30]!r}", text,
               lambda t: validate_config(read_text(t)))


# --- what the mutations found (regressions) ---------------------------------------------------

def _problems(call: Any) -> list[tuple[str, str]]:
    try:
        call()
    except ConfigError as err:
        return err.problems
    raise AssertionError("no problem reported")


def test_a_vm_type_without_cpu_cores_is_a_problem_not_a_type_error() -> None:
    data = copy.deepcopy(WEB_TIER)
    del data["vm_types"]["web"]["cpu_cores"]
    assert _problems(lambda: parse_template(data)) == [("vm_types.web.cpu_cores", "required")]


@pytest.mark.parametrize("key", ["switch", "port", "mac", "ip", "vm_type"])
def test_an_instance_host_missing_a_key_names_it(key: str) -> None:
    data = copy.deepcopy(INSTANCE)
    del data["hosts"]["w1"][key]
    problems = _problems(lambda: parse_instance(data, parse_template(WEB_TIER)))
    assert (f"hosts.w1.{key}", "required") in problems


def test_a_null_vm_type_where_the_template_has_several_is_a_problem() -> None:
    data = copy.deepcopy(INSTANCE)
    data["hosts"]["w1"]["vm_type"] = None
    problems = _problems(lambda: parse_instance(data, parse_template(WEB_TIER)))
    assert [p for p, _ in problems] == ["hosts.w1.vm_type"]


def test_a_huge_name_is_shown_shortened_on_one_line() -> None:
    data = copy.deepcopy(RING)
    data["x" * 100_000] = 1
    [(path, reason)] = _problems(lambda: parse_config(data))
    assert path == "x" * 5000 + "... (100000 characters)" and reason.startswith("unknown key")
