"""`scripts/bench [--only NAME]`: run the benchmarks, write bench-results/latest.json."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.figures import Figure, write_results

RESULTS = Path(__file__).resolve().parents[1] / "bench-results" / "latest.json"


def _registry() -> dict[str, Callable[[Callable[[str], None]], dict[str, Figure] | Figure]]:
    from bench.flow_push import flow_push_ratio
    from bench.mirror import mirror_fidelity, mirror_throughput_ratio

    return {
        "flow_push_ratio": flow_push_ratio,
        "mirror_throughput_ratio": mirror_throughput_ratio,
        "mirror_fidelity": mirror_fidelity,
    }


def main(argv: list[str] | None = None) -> int:
    """Run all benchmarks (or `--only` some) and write the results file."""
    registry = _registry()
    parser = argparse.ArgumentParser(prog="scripts/bench")
    parser.add_argument("--only", action="append", choices=sorted(registry),
                        help="run only this figure (repeatable)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    names = args.only or list(registry)

    def progress(line: str) -> None:
        print(f"  {line}", flush=True)

    figures: dict[str, Figure] = {}
    failed = []
    for name in names:
        print(f"bench: {name} ...", flush=True)
        start = time.time()
        try:
            figures[name] = registry[name](progress)
        except Exception as err:  # a broken benchmark must not hide the others
            failed.append(name)
            print(f"bench: {name} FAILED: {err}", file=sys.stderr, flush=True)
            continue
        fig = figures[name]
        print(f"bench: {name} = {fig.value} {fig.unit} (reference {fig.reference}, target "
              f"{fig.target}: {'met' if fig.met else 'NOT met'}) [{time.time() - start:.0f} s]",
              flush=True)
    write_results(args.out, figures)
    print(f"bench: wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
