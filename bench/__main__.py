"""`scripts/bench [--only NAME]`: run the benchmarks, write bench-results/latest.json."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.figures import Figure, commit, write_results

RESULTS = Path(__file__).resolve().parents[1] / "bench-results" / "latest.json"


def _registry() -> dict[str, Callable[[Callable[[str], None]], dict[str, Figure] | Figure]]:
    def lazy(module: str, name: str) -> Callable:
        def run(progress: Callable[[str], None]):
            import importlib

            return getattr(importlib.import_module(f"bench.{module}"), name)(progress)

        return run

    return {
        "flow_push_ratio": lazy("flow_push", "flow_push_ratio"),
        "mirror_throughput_ratio": lazy("mirror", "mirror_throughput_ratio"),
        "mirror_fidelity": lazy("mirror", "mirror_fidelity"),
        "stats_decode_ratio": lazy("stats_decode", "stats_decode_ratio"),
        "forecast_fit_ratio": lazy("forecast", "forecast_fit_ratio"),
        # one entry, many figures: forecast_mape_ratio_<series>, forecast_coverage_<series>, ...
        "forecast_accuracy": lazy("forecast", "forecast_accuracy"),
        # forecast_vs_gbm_<series>: our h=12 MAPE over the LightGBM lag model's (needs lightgbm)
        "forecast_vs_gbm": lazy("forecast_peer", "forecast_vs_gbm"),
        # forecast_coverage_h1_24_<series>: 90% coverage and widths at every horizon 1..24
        "forecast_coverage_horizons": lazy("forecast_peer", "forecast_coverage_horizons"),
        "forecast_round_s": lazy("forecast_peer", "forecast_round_s"),
        # the controller's round (ForecastJob.run) at 10k series, periods checked and grouped
        "forecast_job_round_s": lazy("forecast_round", "forecast_job_round_s"),
        # live coverage of the round's recalibrated intervals after the noise grows 4x
        "forecast_live_coverage": lazy("forecast_live", "forecast_live_coverage"),
        "outage_link_down_ms": lazy("failover", "outage_link_down_ms"),
        "outage_silent_ms": lazy("failover", "outage_silent_ms"),
        "preempt_lead_s": lazy("preempt", "preempt_lead_s"),
        "needless_moves": lazy("preempt", "needless_moves"),
        "switchover_lost_datagrams": lazy("switchover", "switchover_lost_datagrams"),
        "analysis_throughput_ratio": lazy("analysis", "analysis_throughput_ratio"),
        "detection_delay_s": lazy("detection", "detection_delay_s"),
        "false_alerts_per_hour": lazy("detection", "false_alerts_per_hour"),
        "watch_read_ratio": lazy("watch", "watch_read_ratio"),
        # generated fabrics, no switch: plan_change_ms_<move|takeover|mirror|network>
        "plan_change_ms": lazy("scale", "plan_change_ms"),
        "plan_full_s": lazy("scale", "plan_full_s"),  # and plan_full_peak_mb
        "start_to_api_s": lazy("scale", "start_to_api_s"),
        # the k=4 fat-tree on real switches: lab_fabric_sync_s, lab_fabric_move_ms
        "lab_fabric": lazy("fabric_lab", "lab_fabric"),
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
    measured: dict[str, float] = {}
    revision = commit()  # the tree the figures are measured on, before anything changes it
    failed = []
    for name in names:
        print(f"bench: {name} ...", flush=True)
        start = time.time()
        try:
            result = registry[name](progress)
        except Exception as err:  # a broken benchmark must not hide the others
            failed.append(name)
            print(f"bench: {name} FAILED: {err}", file=sys.stderr, flush=True)
            continue
        produced = result if isinstance(result, dict) else {name: result}
        figures.update(produced)
        measured.update(dict.fromkeys(produced, time.time()))
        for fname, fig in produced.items():
            print(f"bench: {fname} = {fig.value} {fig.unit} (reference {fig.reference}, target "
                  f"{fig.target}: {'met' if fig.met else 'NOT met'})", flush=True)
        print(f"bench: {name} done in {time.time() - start:.0f} s", flush=True)
    write_results(args.out, figures, measured, revision)
    print(f"bench: wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
