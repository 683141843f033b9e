"""The bench results file: each figure keeps its own time, commit and machine across merges."""

from __future__ import annotations

import json
import time

from bench.figures import Figure, write_results


def test_each_figure_keeps_its_own_time_and_commit(tmp_path):
    out = tmp_path / "latest.json"
    first = time.mktime((2026, 1, 2, 3, 4, 5, 0, 0, -1))
    write_results(out, {"a": Figure(1.0, "s", 2.0, "<= 3", True)}, {"a": first})
    write_results(out, {"b": Figure(5.0, "ms", None, "<= 50", False)})
    data = json.loads(out.read_text())
    a, b = data["figures"]["a"], data["figures"]["b"]
    assert a["time"].startswith("2026-01-02T03:04:05")
    assert b["time"] != a["time"]
    assert b["reference"] is None and "detail" not in b
    for record in (a, b):
        assert record["commit"] is None or len(record["commit"].split("+")[0]) == 12
        assert record["machine"]["cpus"] >= 1 and "time" not in record["machine"]
    assert data["written"] == data["machine"]["time"]
