"""YAML that stands for far more than it holds (aliases) or nests without end: one answer."""

from __future__ import annotations

import pytest

from sdn_shadow.cli import main
from sdn_shadow.config import ConfigError
from sdn_shadow.config.document import read_text

LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n"
    for i in range(8))  # 10**9 values in 20 lines


WIDE = "s: &s [" + ", ".join(["x"] * 1000) + "]\nt: [" + ", ".join(["*s"] * 200) + "]\n"


@pytest.mark.parametrize("text", [LAUGHS, "a: &a [*a]\n", WIDE], ids=["laughs", "cycle", "wide"])
def test_alias_bombs_are_refused(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        read_text(text)
    assert info.value.lines() == ["<yaml>: line 1, column 1: its aliases add over 100,000 values"]


def test_ordinary_anchors_and_merge_keys_still_work() -> None:
    data = read_text("base: &b {x: 1}\nother: {<<: *b, y: 2}\nl: [*b, *b]\n")
    assert data == {"base": {"x": 1}, "other": {"x": 1, "y": 2}, "l": [{"x": 1}, {"x": 1}]}
    big = "\n".join(f"k{i}: [{i}, {i}, {i}]" for i in range(20_000))  # no aliases: any size
    assert len(read_text(big)) == 20_000


def test_deep_nesting_is_one_line(tmp_path, capsys) -> None:
    with pytest.raises(ConfigError, match="nested too deeply"):
        read_text("x: " + "[" * 50_000 + "]" * 50_000)
    for name, text in (("laughs.yaml", LAUGHS), ("deep.yaml", "a: " + "{b: " * 5000)):
        (tmp_path / name).write_text(text)
        assert main(["validate", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    (tmp_path / "t.yaml").write_text(LAUGHS)
    assert main(["template", "check", str(tmp_path / "t.yaml")]) == 2
    assert "its aliases add over" in capsys.readouterr().err
