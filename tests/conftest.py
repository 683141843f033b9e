"""Suite-wide pytest hooks: the system and corpus tiers, `integration` where the lab is missing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SYSTEM_DIR = REPO_ROOT / 'tests' / 'system'
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # so that `topologies` and `bench` import

_missing_cache: list[str] | None = None

from tests.robustness import pytest_terminal_summary  # noqa: E402,F401  (the totals line)


def lab_missing() -> list[str]:
    """What the lab lacks here (root, OVS, mnexec, ...); computed once per session."""
    global _missing_cache
    if _missing_cache is None:
        try:
            from sdn_shadow.lab.net import require_lab_tools
        except Exception as exc:  # any import failure means no lab
            _missing_cache = [f'sdn_shadow.lab.net does not import ({exc!r})']
        else:
            _missing_cache = require_lab_tools()
    return _missing_cache


def in_ci() -> bool:
    """Whether we run in CI, where a missing lab must fail the tests, not skip them."""
    return os.environ.get('CI') == 'true'


def pytest_configure(config: pytest.Config) -> None:
    """Silence Mininet's own deprecation warnings (distutils, logging.warn)."""
    config.addinivalue_line('filterwarnings', r'ignore::DeprecationWarning:mininet(\..*)?')


def _corpus_tier(items: list[pytest.Item]) -> None:
    """Skip `corpus` tests, with one reason, when SDN_SHADOW_CORPUS is not set; a named folder
    that is not there is an error, not a skip."""
    from tests.datasets import CORPUS_ENV, corpus_root

    tier = [item for item in items if item.get_closest_marker('corpus')]
    root = corpus_root()
    if not tier:
        return
    if root is None:
        skip = pytest.mark.skip(reason=f'corpus tier: {CORPUS_ENV} is not set (point it at a '
                                       'folder laid out like tests/data to run these)')
        for item in tier:
            item.add_marker(skip)
    elif not (root / 'pcaps').is_dir():
        raise pytest.UsageError(f'{CORPUS_ENV}={root}: no pcaps/ folder there')


def _system_tier(items: list[pytest.Item]) -> None:
    """Mark every test under tests/system `system` (real processes, sockets, tools, time)."""
    for item in items:
        if SYSTEM_DIR in item.path.parents:
            item.add_marker(pytest.mark.system)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests/system `system`; skip `corpus` tests without a corpus; skip tests marked
    integration when lab tools are missing, unless CI=true."""
    _system_tier(items)
    _corpus_tier(items)
    integration = [item for item in items if item.get_closest_marker('integration')]
    if not integration or in_ci():
        return
    missing = lab_missing()
    if not missing:
        return
    skip = pytest.mark.skip(reason=f'lab not available: missing {", ".join(missing)}')
    for item in integration:
        item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say in the header whether integration tests can run here."""
    if os.environ.get('SDN_SHADOW_NO_LAB_HEADER'):
        return None
    missing = lab_missing()
    if not missing:
        return 'lab: ready (root, Open vSwitch, Mininet)'
    mode = 'integration tests will FAIL (CI=true)' if in_ci() else 'integration tests skipped'
    return f'lab: missing {", ".join(missing)}: {mode}'
