"""The docs' command lines that run anywhere, run as written; the site built strictly.

Processes (mkdocs, one `sdn-shadow` per line), so a system test; which line
runs where is checked in tests/unit/test_docs.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.docs_commands import (
    ROOT,
    Block,
    CommandLine,
    command_lines,
    environment,
    is_local,
    workdir,
)

BIN = Path(sys.executable).parent
ALL_LINES = command_lines()
LOCAL_BLOCKS: list[Block] = list(dict.fromkeys(
    line.block for line in ALL_LINES if is_local(line.command)))


def test_mkdocs_builds_the_site_strictly(tmp_path: Path) -> None:
    mkdocs = shutil.which("mkdocs", path=str(BIN))
    assert mkdocs, ("mkdocs is not installed in the venv: scripts/setup installs the `docs` "
                    "extra (pip install -e '.[docs]')")
    proc = subprocess.run([mkdocs, "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
                           "--site-dir", str(tmp_path / "site")], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "index.html").is_file()


# --- the lines that run anywhere -----------------------------------------------------------


def matches(shown: list[str], actual: list[str]) -> bool:
    """Whether `actual` is `shown`, a `...` line standing for any number of lines."""
    if not shown:
        return not actual
    if shown[0] == "...":
        return any(matches(shown[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and actual[0] == shown[0] and matches(shown[1:], actual[1:])


def _clean(lines: list[str] | tuple[str, ...]) -> list[str]:
    out = [line.rstrip() for line in lines]
    while out and not out[-1]:
        out.pop()
    return out


def _run(line: CommandLine, cwd: Path) -> str | None:
    """Run one line in `cwd`; what went wrong, or None."""
    proc = subprocess.run(["bash", "-c", f"set -euo pipefail\n{line.command}"], cwd=cwd,
                          env=environment(BIN), capture_output=True, text=True, timeout=180)
    where = f"{line.page}:{line.lineno}: {line.command}"
    if proc.returncode != 0:
        return f"{where}\nexit {proc.returncode}\n{proc.stderr[-3000:]}"
    shown = _clean(line.output)
    actual = _clean(proc.stdout.splitlines())
    if shown and not matches(shown, actual):
        return (f"{where}\nthe docs show:\n" + "\n".join(shown) + "\n\nit prints:\n"
                + "\n".join(actual))
    return None


def _run_block(block: Block, tmp: Path) -> str | None:
    """A block's local lines, in order, in a folder like the repository root (lab lines in
    the block run in their own tests); the first problem, or None."""
    cwd = workdir(tmp)
    for line in ALL_LINES:
        if line.block == block and is_local(line.command):
            problem = _run(line, cwd)
            if problem:
                return problem
    return None


@pytest.fixture(scope="module")
def block_results(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> dict[Block, str | None]:
    """Every selected block run at once (each line is a process of its own: CPU-bound
    start-up, so they share the cores); block -> its problem or None."""
    selected = [item.callspec.params["block"] for item in request.session.items
                if getattr(item, "originalname", "") == "test_the_block_runs"
                and item.path == Path(__file__)]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {block: pool.submit(_run_block, block, tmp_path_factory.mktemp("block"))
                   for block in dict.fromkeys(selected)}
        return {block: future.result() for block, future in futures.items()}


@pytest.mark.parametrize("block", LOCAL_BLOCKS, ids=[f"{b.page}:{b.lineno}" for b in LOCAL_BLOCKS])
def test_the_block_runs(block: Block, block_results: dict[Block, str | None]) -> None:
    """Each local line of the block exits 0 and prints what the block shows (`...`: any
    lines)."""
    problem = block_results[block]
    assert problem is None, problem
