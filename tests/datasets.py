"""Where tests find data: the samples the project carries and the optional larger corpus.

`SAMPLES` (tests/data) is always there. The corpus is a folder laid out the
same way (pcaps/{normal,attack}, timeseries) named by SDN_SHADOW_CORPUS;
tests that read it are marked `corpus` and skipped, with one line saying
why, when it is not set.
"""

from __future__ import annotations

import os
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "data"
CORPUS_ENV = "SDN_SHADOW_CORPUS"
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap")
#: Where corpus paths point while SDN_SHADOW_CORPUS is unset (its tests are skipped).
NO_CORPUS = Path("/nonexistent/sdn-shadow-corpus")


def corpus_root() -> Path | None:
    """The corpus folder SDN_SHADOW_CORPUS names, or None when it is not set."""
    value = os.environ.get(CORPUS_ENV, "").strip()
    return Path(value).expanduser().resolve() if value else None


CORPUS = corpus_root() or NO_CORPUS


def captures(root: Path, folder: str = "*") -> list[Path]:
    """Capture files under root/pcaps/<folder>/, sorted (folder `*`: normal and attack)."""
    return sorted(p for p in (root / "pcaps").glob(f"{folder}/*") if p.suffix in CAPTURE_SUFFIXES)


def corpus_captures(folder: str = "*") -> list[Path]:
    """The corpus's captures, or one placeholder path when there is no corpus (tests of the
    `corpus` tier are skipped before they run, so the placeholder is never opened)."""
    root = corpus_root()
    return captures(root, folder) if root else [NO_CORPUS / "pcaps" / "none.pcap"]


def capture_params(folder: str = "*") -> list:
    """pytest params over captures: every sample (id: its name), then every corpus capture,
    marked `corpus` (id: corpus/<name>), so one test covers both tiers."""
    import pytest

    return ([pytest.param(p, id=p.name) for p in captures(SAMPLES, folder)]
            + [pytest.param(p, id=f"corpus/{p.name}", marks=pytest.mark.corpus)
               for p in corpus_captures(folder)])
