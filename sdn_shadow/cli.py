"""The `sdn-shadow` command: run the controller, validate configs, show compiled flows."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from sdn_shadow.api import token_command
from sdn_shadow.config import ConfigError, read_document, validate_config
from sdn_shadow.config.model import Config

EXIT_INVALID = 2
EXIT_FAILED = 1  # the controller could not start (a port in use)


def _read_or_report(path: str) -> tuple[Any, Config] | tuple[None, None]:
    """The YAML document at `path` and its config, or (None, None) after printing every
    problem to stderr. Validation leaves the document as it was read."""
    try:
        document = read_document(path)
        return document, validate_config(document, path)
    except ConfigError as err:
        for line in err.lines():
            print(line, file=sys.stderr)
        return None, None


def _load_or_report(path: str) -> Config | None:
    """The config at `path`, or None after printing every problem to stderr."""
    return _read_or_report(path)[1]


def cmd_validate(args: argparse.Namespace) -> int:
    """Exit 0 if every file is valid, else 2 with `FILE: key.path: reason` lines."""
    status = 0
    for path in args.files:
        config = _load_or_report(path)
        if config is None:
            status = EXIT_INVALID
            continue
        sessions = sum(len(n.shadow.mirror) for n in config.networks if n.shadow)
        print(f"{path}: ok ({len(config.switches)} switches, {len(config.networks)} networks, "
              f"{sessions} mirror sessions)")
    return status


def cmd_flows(args: argparse.Namespace) -> int:
    """Print the flows and groups the controller would install, as ovs-ofctl text."""
    from sdn_shadow.openflow.compiler import compile_config
    from sdn_shadow.openflow.ofctl import flow_to_ofctl, group_to_ofctl

    config = _load_or_report(args.config)
    if config is None:
        return EXIT_INVALID
    plans = compile_config(config)
    names = {p.name for p in plans.values()}
    if args.switch and args.switch not in names:
        print(f"{args.config}: no switch named {args.switch!r} (have: {', '.join(sorted(names))})",
              file=sys.stderr)
        return EXIT_INVALID
    for plan in plans.values():
        if args.switch and plan.name != args.switch:
            continue
        print(f"# {plan.name} (dpid {plan.dpid:#x}): {len(plan.flows)} flows, "
              f"{len(plan.groups)} groups")
        for group in plan.groups.values():
            print(f"# group: {group_to_ofctl(group)}")
        for flow in sorted(plan.flows.values(), key=lambda f: (f.table_id, -f.priority)):
            print(flow_to_ofctl(flow))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Validate the config fully, check the ports, start the API (answering "starting" while
    the fabric is planned), then OS-Ken with the app; blocks until stopped."""
    # The document is read once: the app layers the API's kept changes on it.
    document, config = _read_or_report(args.config)
    if config is None:
        print(f"{args.config}: not starting the controller with an invalid config",
              file=sys.stderr)
        return EXIT_INVALID
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from sdn_shadow.control.startup import (
        RunSettings,
        address_problem,
        openflow_listen_problem,
        start_gate,
    )

    settings = RunSettings(config, args.config, document, args.state_file, args.metrics,
                           args.api, args.tokens)
    if settings.api_listen and not settings.tokens_file:
        print("the REST API needs a token file: --tokens FILE or api.tokens (make one with "
              "`sdn-shadow token add --file FILE --name NAME --role operator`)", file=sys.stderr)
        return EXIT_INVALID
    if settings.tokens_file:
        from sdn_shadow.api.auth import TokenBook, TokenFileError

        try:
            TokenBook.load(settings.tokens_file)
        except (TokenFileError, ValueError, OSError) as err:
            print(f"the REST API's token file: {err} (make one with `sdn-shadow token add`)",
                  file=sys.stderr)
            return EXIT_INVALID
    problem = openflow_listen_problem(args.of_host, args.of_port)
    metrics = args.metrics or config.telemetry.metrics
    if problem is None and metrics:
        problem = address_problem(metrics, "Prometheus metrics")
    if problem is None and metrics and config.telemetry.metrics_token:
        from sdn_shadow.api.metrics import read_token

        try:
            read_token(config.telemetry.metrics_token)
        except (ValueError, OSError) as err:
            problem = f"telemetry.metrics_token: {getattr(err, 'strerror', None) or err}"
    if problem is not None:
        print(f"sdn-shadow run: {problem}; not starting", file=sys.stderr)
        return EXIT_FAILED
    try:
        start_gate(settings)  # the API answers "starting" while the fabric is planned
    except (RuntimeError, ValueError, OSError) as err:
        print(f"sdn-shadow run: the REST API cannot listen on {settings.api_listen}: {err}; "
              "not starting", file=sys.stderr)
        return EXIT_FAILED
    from os_ken import cfg
    from os_ken.base.app_manager import AppManager

    from sdn_shadow import app
    from sdn_shadow.tls import openflow_listen_args, openflow_target

    app.RUN = settings
    tls = config.controller.tls
    cfg.CONF(args=openflow_listen_args(args.of_host, args.of_port, tls), project="os_ken")
    logging.getLogger("sdn_shadow").info(
        "sdn-shadow serving OpenFlow 1.3 on %s with %s",
        openflow_target(args.of_host, args.of_port, tls), args.config)
    AppManager.run_apps(["sdn_shadow.app"])
    return 0


def _port(text: str) -> int:
    """A TCP port number from the command line (1..65535)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is out of range: a port is 1..65535")
    return port


def cmd_forecast_backtest(args: argparse.Namespace) -> int:
    """Backtest the forecaster and baselines on a `timestamp,value` CSV; 2 on bad input."""
    from sdn_shadow.forecast.command import backtest_command

    return backtest_command(args.csv, args.horizon, args.period, args.level, args.train_fraction,
                            args.json, args.refit_every, args.window, args.seasons,
                            sys.stdout, sys.stderr, horizons=args.horizons, peer=args.peer,
                            point=args.point, huber=args.huber, calendar=args.calendar,
                            select=args.select)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="sdn-shadow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the controller")
    run.add_argument("--config", required=True, help="YAML config file")
    run.add_argument("--of-port", type=_port, default=6653, help="OpenFlow port (default 6653)")
    run.add_argument("--of-host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    run.add_argument("--state-file", help="write a JSON status snapshot here")
    run.add_argument("--metrics", metavar="HOST:PORT",
                     help="serve Prometheus metrics here (overrides telemetry.metrics)")
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    run.add_argument("--api", metavar="HOST:PORT",
                     help="serve the REST API here (overrides api.listen)")
    run.add_argument("--tokens", metavar="FILE",
                     help="the API's token file (overrides api.tokens)")

    token_command.add_parser(sub)
    run.set_defaults(func=cmd_run)

    validate = sub.add_parser("validate", help="check config files; exit 2 on problems")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(func=cmd_validate)

    flows = sub.add_parser("flows", help="print the flows a config compiles to (ovs-ofctl text)")
    flows.add_argument("config", metavar="FILE")
    flows.add_argument("--switch", help="only this switch (by name)")
    flows.set_defaults(func=cmd_flows)

    from sdn_shadow.directory.command import add_parser as add_ldap_parser

    add_ldap_parser(sub)

    from sdn_shadow.analytics.command import add_parser as add_analyze_parser

    add_analyze_parser(sub)

    from sdn_shadow.analytics.replay_command import add_parser as add_replay_parser

    add_replay_parser(sub)

    from sdn_shadow.analytics.capture_command import add_parser as add_capture_parser

    add_capture_parser(sub)

    from sdn_shadow.analytics.synth_command import add_parser as add_synth_parser

    add_synth_parser(sub)

    from sdn_shadow.templates.command import add_parser as add_template_parser

    add_template_parser(sub)

    from sdn_shadow.api.command import add_parser as add_api_parser

    add_api_parser(sub)

    from sdn_shadow.api.status_command import add_parser as add_status_parser

    add_status_parser(sub)

    forecast = sub.add_parser("forecast", help="demand forecasting tools")
    forecast_sub = forecast.add_subparsers(dest="forecast_command", required=True)
    backtest = forecast_sub.add_parser(
        "backtest", help="score the forecaster against naive baselines on a series",
        description="Rolling-origin backtest on the last (1 - train fraction) of the points: "
                    "the forecast of y[t] uses only y[..t-H]. Prints MAPE (percent, zero "
                    "targets left out), RMSE and MAE for the model and the naive and "
                    "seasonal-naive baselines, and the model's interval coverage and mean "
                    "width. Lengths are steps (12) or durations (6h, 30min, 1d).")
    backtest.add_argument("csv", metavar="CSV", help="timestamp,value file with a header")
    backtest.add_argument("--horizon", metavar="H", help="forecast horizon")
    backtest.add_argument("--horizons", metavar="LIST",
                          help="several horizons in one run: 1-24 or 1,6,12 (steps)")
    backtest.add_argument("--period", metavar="M",
                          help="seasonal period, a hint: the data's period is used and the "
                               "output says whether it confirms the hint")
    backtest.add_argument("--peer", choices=["gbm"],
                          help="also score the LightGBM lag model under the same protocol "
                               "(needs lightgbm: the bench extra)")
    backtest.add_argument("--point", choices=["median", "mape", "mape_calendar"],
                          default="median",
                          help="point forecast: the median (default), the value that "
                               "minimises the expected absolute percentage error, or a "
                               "calendar profile fitted to that error (--calendar terms)")
    backtest.add_argument("--huber", metavar="K",
                          help="downweight training rows whose error passes K robust "
                               "deviations (e.g. 1.345): bursts pull the fit less")
    backtest.add_argument("--calendar", metavar="TERMS",
                          help="time-of-day and day-of-week terms: daily=N,weekly=M "
                               "(sin/cos harmonics of the period and of 7 periods, each "
                               "0..12; default off)")
    backtest.add_argument("--select", action="store_true",
                          help="choose the calendar terms and window per series by rolling "
                               "validation on the training part (printed)")
    backtest.add_argument("--level", default="0.9", help="interval level (default 0.9)")
    backtest.add_argument("--train-fraction", default="0.8",
                          help="share of points before the test set (default 0.8)")
    backtest.add_argument("--json", metavar="OUT", help="also write the results as JSON here "
                          "('-': JSON on stdout instead of the table)")
    backtest.add_argument("--refit-every", default="48", metavar="K",
                          help="refit the model every K steps of the test set (default 48)")
    backtest.add_argument("--window", default="24", metavar="W",
                          help="recent values the model uses (default 24)")
    backtest.add_argument("--seasons", default="7", metavar="N",
                          help="past periods the model looks back (default 7, fewer if the "
                               "series is short)")
    backtest.set_defaults(func=cmd_forecast_backtest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `sdn-shadow` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `sdn-shadow flows ... | head`: the reader has had enough
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 141  # 128 + SIGPIPE, as a shell reports a command its pipe closed


if __name__ == "__main__":
    sys.exit(main())
