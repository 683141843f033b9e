"""`sdn-shadow status`: a compact picture of a running controller, read from its REST API.

Shows the switches (connected, synced), the networks and their shadows
(active or standing by, roles swapped), the clients on shadow paths, steered
to twins or taken over, the busiest links (measured, forecast, interval,
capacity, capacity held), open alerts, blocks in force and the last events.
`--watch S` redraws every S seconds until Ctrl-C (or `--count K` frames);
`--json` prints the data the picture is drawn from (rates in bytes/s, as
the API gives them). The URL, token and CA are found as by `sdn-shadow api`.
Exits 1 when the API refuses (a bad token), 2 on bad arguments, 3 when the
controller cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import httpx

from sdn_shadow.api.command import EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE
from sdn_shadow.api.status import StatusView, build_view, render
from sdn_shadow.client import ApiError, ShadowClient

CLEAR = "\x1b[H\x1b[2J"  # cursor home, clear screen


class StatusClient(ShadowClient):
    """The API client with the read `status` needs beyond `ShadowClient`'s."""

    def fabric(self) -> dict[str, Any]:
        """Switches and links now, the controller's clock and the events cursor."""
        return self._call("GET", "/fabric")


def fetch(client: StatusClient, last: int = 8) -> dict[str, Any]:
    """The API answers a view is built from (the `last` events)."""
    fabric = client.fabric()
    since = max(0, int(fabric.get("events_next", 0)) - last)
    return {"health": client.health(), "fabric": fabric, "networks": client.networks(),
            "routing": client.routing(), "alerts": client.alerts(state="open"),
            "blocks": client.blocks(),
            "events": client.events(since, last)["events"] if last else []}


class Unexpected(Exception):
    """An answer that is not what an sdn-shadow API of this version gives."""


def view_of(client: StatusClient, top: int, last: int) -> StatusView:
    """Fetch and build one view (Unexpected when the answers do not fit)."""
    try:
        return build_view(fetch(client, last), top, last)
    except (ValueError, KeyError, TypeError, AttributeError) as e:  # not JSON, or other shapes
        raise Unexpected(f"{type(e).__name__}: {e}") from None


def run(args: argparse.Namespace, *, http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep, out: TextIO | None = None,
        err: TextIO | None = None) -> int:
    """Print the picture (or JSON) once, or every `--watch` seconds; `http` replaces the
    transport (a TestClient in tests), `sleep` the wait between frames."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        token = (Path(args.token_file).read_text().strip() if args.token_file
                 else os.environ.get("SDN_SHADOW_TOKEN"))
    except OSError as e:
        print(f"sdn-shadow status: cannot read the token: {e}", file=err)
        return EXIT_USAGE
    if not token:
        print("sdn-shadow status: a token is needed: --token-file FILE or SDN_SHADOW_TOKEN",
              file=err)
        return EXIT_USAGE
    if args.count is not None and args.watch is None:
        print("sdn-shadow status: --count needs --watch", file=err)
        return EXIT_USAGE
    frames = args.count if args.watch is not None else 1
    client = StatusClient(args.url, token, verify=args.cacert or True, http=http)
    tty = out.isatty()
    shown = 0
    try:
        while True:
            view = view_of(client, args.top, args.events)
            if args.json:
                out.write(json.dumps(view.to_dict(), sort_keys=True,
                                     indent=None if args.watch else 2) + "\n")
            else:
                lead = CLEAR if tty and args.watch else "\n" if shown else ""
                out.write(lead + "\n".join(render(view)) + "\n")
            out.flush()
            shown += 1
            if frames is not None and shown >= frames:
                return 0
            sleep(args.watch)
    except KeyboardInterrupt:
        if tty:
            out.write("\n")
        return 0
    except ApiError as e:
        print(f"sdn-shadow status: {e}", file=err)
        return EXIT_FAILED
    except httpx.HTTPError as e:
        why = " ".join(str(e).split()) or type(e).__name__
        print(f"sdn-shadow status: cannot reach {args.url}: {why}", file=err)
        return EXIT_UNREACHABLE
    except Unexpected as e:
        print(f"sdn-shadow status: {args.url} is not an sdn-shadow API of this version ({e})",
              file=err)
        return EXIT_FAILED
    finally:
        if http is None:
            client.close()


def _at_least(low: float, kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}")
        return value
    return parse


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `status` to an argparse subparsers object; returns its parser."""
    p = subparsers.add_parser("status", help="a compact picture of a running controller",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8181",
                   help="the API's address (default http://127.0.0.1:8181)")
    p.add_argument("--token-file", metavar="F",
                   help="file holding the bearer token (else $SDN_SHADOW_TOKEN)")
    p.add_argument("--cacert", metavar="PEM", help="CA to check an HTTPS API with")
    p.add_argument("--top", type=_at_least(1, int), default=5, metavar="N",
                   help="busiest links shown (default 5)")
    p.add_argument("--events", type=_at_least(0, int), default=8, metavar="N",
                   help="last events shown (default 8)")
    p.add_argument("--watch", type=_at_least(0.1, float), metavar="S",
                   help="redraw every S seconds until Ctrl-C")
    p.add_argument("--count", type=_at_least(1, int), metavar="K",
                   help="with --watch: stop after K frames")
    p.add_argument("--json", action="store_true",
                   help="print the data instead (one JSON object per frame, rates in bytes/s)")
    p.set_defaults(func=run)
    return p
