"""`sdn-shadow ldap mirror`: mirror a primary LDAP subtree into the shadow's, once or following."""

from __future__ import annotations

import argparse
import functools
import json
import re
import signal
import ssl
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from sdn_shadow.atomic import replace_file
from sdn_shadow.config.document import read_regular
from sdn_shadow.directory import ldap_io
from sdn_shadow.directory.dn import split_dn, within
from sdn_shadow.directory.follower import Mirror, RoundReport
from sdn_shadow.directory.rules import MappingRule, parse_rule
from sdn_shadow.usage import UsageError

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
_URL = re.compile(r"^(ldaps?://(?:\[[0-9a-f:.]+\]|[^/:\s\[\]]+)(?::(?P<port>\d{1,5}))?)/?$",
                  re.IGNORECASE)


@dataclass(frozen=True)
class Settings:
    """The command's options, checked."""

    url: str
    bind_dn: str
    password: str
    primary_base: str
    shadow_base: str
    follow: bool
    interval: float
    revert_drift: bool
    rules: tuple[MappingRule, ...]
    dn_attributes: tuple[str, ...]
    json_path: Path | None
    timeout: float
    backoff_max: float
    ca_file: str = ""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `ldap mirror` to an argparse subparsers object; returns the `ldap` parser."""
    ldap = subparsers.add_parser("ldap", help="LDAP configuration mirroring")
    ldap_sub = ldap.add_subparsers(dest="ldap_command", required=True)
    mirror = ldap_sub.add_parser(
        "mirror", help="mirror a primary's LDAP subtree into the shadow's base DN",
        description="Copy every entry under --primary-base to under --shadow-base: DNs and "
                    "DN-valued attributes inside the primary subtree rebased, --map rules "
                    "applied, everything else identical. --once (default) runs one round; "
                    "--follow repeats every --interval seconds, retrying with back-off when "
                    "the server is unreachable. Exit 0 when everything applied, 1 when an "
                    "entry was rejected (or the server could not be reached with --once), "
                    "2 on bad arguments.")
    mirror.add_argument("--url", required=True, help="ldap://HOST:PORT")
    mirror.add_argument("--ca-file", default="", metavar="PEM",
                        help="ldaps://: trust certificates signed by these CAs (default: "
                             "the system's); the certificate must name the host")
    mirror.add_argument("--bind-dn", required=True, metavar="DN", help="DN to bind as")
    mirror.add_argument("--password-file", required=True, metavar="F",
                        help="file whose first line is the bind password")
    mirror.add_argument("--primary-base", required=True, metavar="DN",
                        help="base DN of the primary's configuration subtree")
    mirror.add_argument("--shadow-base", required=True, metavar="DN",
                        help="base DN the shadow's copy lives under")
    mode = mirror.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one round, then exit (default)")
    mode.add_argument("--follow", action="store_true", help="keep following changes")
    mirror.add_argument("--interval", default="10", metavar="S",
                        help="seconds between rounds with --follow (default 10)")
    mirror.add_argument("--revert-drift", action="store_true",
                        help="undo changes made directly in the shadow (default: report them)")
    mirror.add_argument("--map", action="append", default=[], metavar="[CLASS/]ATTR=OLD:NEW",
                        help="in the shadow, replace value OLD of ATTR by NEW (repeatable; "
                             "write \\: for a colon in OLD; empty NEW drops the value)")
    mirror.add_argument("--map-regex", action="append", default=[],
                        metavar="[CLASS/]ATTR=PATTERN:REPL",
                        help="in the shadow, substitute PATTERN in ATTR's values (repeatable)")
    mirror.add_argument("--dn-attribute", action="append", default=[], metavar="ATTR",
                        help="another attribute whose values are DNs to rebase (repeatable)")
    mirror.add_argument("--json", metavar="OUT", help="write the latest round's report here")
    mirror.add_argument("--timeout", default="5", metavar="S",
                        help="connect and response timeout in seconds (default 5)")
    mirror.add_argument("--backoff-max", default="30", metavar="S",
                        help="longest wait between retries when unreachable (default 30)")
    mirror.set_defaults(func=run)
    return ldap


def _seconds(option: str, text: str) -> float:
    """A positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{option} {text!r}: not a number of seconds") from None
    if not value > 0 or value != value or value == float("inf"):
        raise UsageError(f"{option} {text!r}: must be a positive number of seconds")
    return value


def _dn(option: str, text: str) -> str:
    """A non-empty DN."""
    try:
        rdns = split_dn(text)
    except ValueError as exc:
        raise UsageError(f"{option} {text!r}: {exc}") from None
    if not rdns:
        raise UsageError(f"{option}: empty DN")
    return ",".join(rdns)


def _url(text: str) -> str:
    """An ldap:// or ldaps:// URL with a valid port, without a trailing slash."""
    match = _URL.match(text.strip())
    if not match or (match["port"] is not None and not 0 < int(match["port"]) < 65536):
        raise UsageError(f"--url {text!r}: expected ldap://HOST:PORT")
    return match.group(1)


def _password(path: str) -> str:
    """The first line of the password file."""
    try:
        text = read_regular(path, 1 << 16).decode("utf-8")
    except OSError as exc:
        raise UsageError(f"--password-file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--password-file {path}: not UTF-8 text") from None
    password = text.splitlines()[0] if text else ""
    if not password:
        raise UsageError(f"--password-file {path}: empty (the first line is the password)")
    return password


def _ca_file(path: str) -> str:
    """A readable PEM file of CA certificates ("" = the system's)."""
    if not path:
        return ""
    try:
        ssl.create_default_context(cafile=path)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise UsageError(f"--ca-file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return path


def settings(args: argparse.Namespace) -> Settings:
    """Check the parsed options; UsageError names the option and the reason."""
    url = _url(args.url)
    primary = _dn("--primary-base", args.primary_base)
    shadow = _dn("--shadow-base", args.shadow_base)
    if within(primary, shadow) or within(shadow, primary):
        raise UsageError(f"--primary-base {primary!r} and --shadow-base {shadow!r} overlap: "
                         f"neither may be inside the other")
    try:
        rules = tuple([parse_rule(t) for t in args.map]
                      + [parse_rule(t, regex=True) for t in args.map_regex])
    except ValueError as exc:
        raise UsageError(f"--map: {exc}") from None
    json_path = Path(args.json) if args.json else None
    if json_path is not None and not json_path.parent.is_dir():
        raise UsageError(f"--json {args.json}: no directory {str(json_path.parent)!r}")
    return Settings(
        url=url, bind_dn=_dn("--bind-dn", args.bind_dn),
        password=_password(args.password_file), primary_base=primary, shadow_base=shadow,
        follow=bool(args.follow), interval=_seconds("--interval", args.interval),
        revert_drift=bool(args.revert_drift), rules=rules,
        dn_attributes=tuple(a.strip().lower() for a in args.dn_attribute if a.strip()),
        json_path=json_path,
        timeout=_seconds("--timeout", args.timeout),
        backoff_max=_seconds("--backoff-max", args.backoff_max),
        ca_file=_ca_file(args.ca_file))


def _write_json(path: Path, report: RoundReport) -> None:
    """Replace `path` with the report (written to a temporary file first)."""
    replace_file(path, json.dumps(report.to_json(), indent=2) + "\n")


def _printer(out: TextIO, json_path: Path | None) -> Callable[[RoundReport], None]:
    """The on_report callback: print the lines, write the JSON file."""
    def show(report: RoundReport) -> None:
        for line in report.lines():
            print(line, file=out, flush=True)
        if json_path is not None:
            _write_json(json_path, report)
    return show


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run `ldap mirror` with parsed arguments; 0 all applied, 1 rejected, 2 bad arguments."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        config = settings(args)
    except UsageError as exc:
        print(f"sdn-shadow ldap mirror: error: {exc}", file=err)
        return EXIT_USAGE
    connect = functools.partial(ldap_io.connect, config.url, config.bind_dn, config.password,
                                config.timeout, config.ca_file)
    mirror = Mirror(connect, config.primary_base, config.shadow_base, config.rules,
                    dn_attributes=config.dn_attributes, revert_drift=config.revert_drift,
                    backoff_initial=min(1.0, config.backoff_max),
                    backoff_max=config.backoff_max,
                    on_report=_printer(out, config.json_path), log_reports=False)
    try:
        if not config.follow:
            return EXIT_OK if mirror.run_once().ok else EXIT_REJECTED
        stop = threading.Event()
        with _stopping_on_signals(stop):
            mirror.follow(config.interval, stop)
        reports = mirror.reports()
        return EXIT_OK if not reports or reports[-1].ok else EXIT_REJECTED
    finally:
        mirror.close()


@contextmanager
def _stopping_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set `stop` on SIGINT/SIGTERM while inside (main thread only), then restore."""
    saved = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            saved[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m sdn_shadow.directory.command ldap mirror ...` (same arguments as sdn-shadow)."""
    parser = argparse.ArgumentParser(prog="sdn-shadow")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
