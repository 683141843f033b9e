"""The wheel, installed without extras into a fresh venv, gives a working `sdn-shadow`.

A system test: it builds a wheel, makes a venv and installs the runtime
dependencies from the package index (pip's cache keeps reruns fast). Everything
it makes lives in one temp folder, removed at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
EXAMPLES = ROOT / "examples"
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                                    ".*_cache", "bench-results", ".sdn-shadow")


@dataclass(frozen=True)
class Installed:
    """A fresh venv with the wheel in it, and a working folder outside the repo."""

    wheel: Path
    source: Path
    bin: Path
    cwd: Path

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run a program of the venv from the working folder, with nothing of the repo."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}", PYTHONNOUSERSITE="1")
        return subprocess.run([str(self.bin / args[0]), *args[1:]], cwd=self.cwd, env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)


def _checked(cmd: list[str], timeout: float) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """Build the wheel from a clean copy of the repo and install it, without extras."""
    work = tmp_path_factory.mktemp("packaging")
    try:
        source = work / "src"
        shutil.copytree(ROOT, source, ignore=NOT_SOURCE)  # no stale build/ or egg-info
        wheels = work / "wheels"
        _checked([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheels),
                  str(source)], timeout=600)
        (wheel,) = wheels.glob("sdn_shadow-*.whl")
        venv = work / "venv"
        _checked([sys.executable, "-m", "venv", str(venv)], timeout=300)
        _checked([str(venv / "bin" / "python"), "-m", "pip", "install", str(wheel)],
                 timeout=1200)
        cwd = work / "cwd"
        cwd.mkdir()
        yield Installed(wheel, source, venv / "bin", cwd)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sample(name: str) -> Path:
    """tests/data/`name`, which the repository carries."""
    assert (DATA / name).is_file(), f"{DATA / name}: missing from the repository's samples"
    return DATA / name


def test_the_wheel_holds_every_file_of_the_package(installed: Installed) -> None:
    package = installed.source / "sdn_shadow"
    want = {p.relative_to(installed.source).as_posix() for p in package.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    assert want - names == set(), "files of sdn_shadow/ missing from the wheel"
    assert {"sdn_shadow/cli.py", "sdn_shadow/lab_check.py", "sdn_shadow/api/docs.py"} <= names


def test_the_package_imports_from_the_venv_not_the_repo(installed: Installed) -> None:
    proc = installed.run("python", "-c", "import sdn_shadow; print(sdn_shadow.__file__)")
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).is_relative_to(installed.bin.parent), proc.stdout


def test_the_offline_docs_assets_are_installed(installed: Installed) -> None:
    proc = installed.run("python", "-c", "from sdn_shadow.api.docs import asset_files; "
                         "print(' '.join(sorted(asset_files())))")
    assert proc.returncode == 0, proc.stderr
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"} <= \
        set(proc.stdout.split())


COMMANDS = {
    "help": (["--help"], "usage: sdn-shadow"),
    "validate": (["validate", str(EXAMPLES / "lab.yaml")], ": ok ("),
    "flows": (["flows", str(EXAMPLES / "lab.yaml")], "flows,"),
    "backtest": (["forecast", "backtest", "CSV", "--horizon", "12", "--period", "48"],
                 "seasonal_naive"),
    "analyze": (["analyze", "PCAP"], "packets over"),
    "template": (["template", "check", str(EXAMPLES / "templates" / "web-tier.yaml")], ": ok ("),
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_cli_works_without_extras(installed: Installed, name: str) -> None:
    args, expected = COMMANDS[name]
    inputs = {"CSV": lambda: sample("timeseries/nab_nyc_taxi_30min.csv"),
              "PCAP": lambda: sample("pcaps/attack/lab_nmap_synscan.pcap")}
    args = [str(inputs[a]()) if a in inputs else a for a in args]
    proc = installed.run("sdn-shadow", *args)
    assert proc.returncode == 0, f"sdn-shadow {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    assert expected in proc.stdout, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
