"""`sdn-shadow api ...`: talk to a running controller's REST API with `sdn_shadow.client`.

Prints the answer as JSON; an error prints `HTTP STATUS field: reason` per
problem on stderr and exits 1 (2 for bad arguments, 3 when the controller
cannot be reached). The token comes from `--token-file` or $SDN_SHADOW_TOKEN.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import httpx

from sdn_shadow.client import ApiError, BadName, ShadowClient

EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3


def _spec(text: str) -> dict:
    """A JSON object given inline or as @FILE (YAML works too: it is a superset), read as
    the config is (overlong numbers kept as text for the controller to refuse by key)."""
    from sdn_shadow.config.document import read_regular, read_text
    from sdn_shadow.config.model import ConfigError

    try:
        value = read_text(read_regular(text[1:]) if text.startswith("@") else text)
    except OSError as err:
        raise argparse.ArgumentTypeError(f"{text}: {err.strerror or err}") from None
    except (ConfigError, UnicodeDecodeError) as err:
        raise argparse.ArgumentTypeError(str(err).replace("\n", "; ")) from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a mapping (JSON object or YAML)")
    return value


def _call(client: ShadowClient, args: argparse.Namespace) -> Any:
    """The client call the subcommand names."""
    what = args.what
    if what == "health":
        return client.health()
    if what == "networks":
        return client.networks() if args.name is None else client.network(args.name)
    if what == "create-network":
        return client.create_network(args.name, args.spec)
    if what == "delete-network":
        return client.delete_network(args.name)
    if what == "client":
        if args.path is None and args.service is None:
            return client.client(args.network, args.host)
        return client.set_client(args.network, args.host, path=args.path, service=args.service,
                                 reason=args.reason)
    if what in ("activate", "deactivate", "role-swap"):
        act = {"activate": client.activate, "deactivate": client.deactivate,
               "role-swap": client.role_swap}[what]
        return act(args.network, reason=args.reason)
    if what == "sessions":
        return (client.sessions(args.network) if args.name is None
                else client.session(args.network, args.name))
    if what == "create-session":
        return client.create_session(args.network, args.spec)
    if what == "delete-session":
        return client.delete_session(args.network, args.name)
    if what == "alerts":
        return client.alerts(network=args.network, state=args.state)
    if what == "blocks":
        return client.blocks()
    if what == "unblock":
        return client.lift_block(args.network, args.source)
    return client.events(since=args.since, limit=args.limit)


def run(args: argparse.Namespace) -> int:
    """Make one call and print its answer."""
    token = os.environ.get("SDN_SHADOW_TOKEN")
    if args.token_file:
        from sdn_shadow.config.document import read_regular

        try:
            token = read_regular(args.token_file, 4096).decode().strip()
        except (OSError, UnicodeDecodeError) as err:
            print(f"--token-file {args.token_file}: {getattr(err, 'strerror', None) or err}",
                  file=sys.stderr)
            return EXIT_USAGE
    if not token and args.what != "health":
        print("a token is needed: --token-file FILE or SDN_SHADOW_TOKEN", file=sys.stderr)
        return EXIT_USAGE
    try:
        with ShadowClient(args.url, token, verify=args.cacert or True) as client:
            answer = _call(client, args)
    except BadName as err:
        print(str(err), file=sys.stderr)
        return EXIT_USAGE
    except httpx.InvalidURL as err:  # not an HTTPError: `http://[::1`, a port of `:1`
        print(f"--url {args.url}: {err}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:  # building the TLS context: --cacert missing or not PEM
        print(f"--cacert {args.cacert}: {err.strerror or err}", file=sys.stderr)
        return EXIT_USAGE
    except ApiError as err:
        for e in err.errors or [{"field": "-", "reason": "no details"}]:
            print(f"HTTP {err.status} {e.get('field')}: {e.get('reason')}", file=sys.stderr)
        return EXIT_FAILED
    except httpx.HTTPError as err:
        print(f"cannot reach {args.url}: {err}", file=sys.stderr)
        return EXIT_UNREACHABLE
    print(json.dumps(answer, indent=2, sort_keys=True))
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `api ...` to an argparse subparsers object; returns the `api` parser."""
    api = subparsers.add_parser("api", help="call a running controller's REST API",
                                description=__doc__)
    api.add_argument("--url", default="http://127.0.0.1:8181",
                     help="the API's address (default http://127.0.0.1:8181)")
    api.add_argument("--token-file", metavar="F", help="file holding the bearer token")
    api.add_argument("--cacert", metavar="PEM", help="CA to check an HTTPS API with")
    sub = api.add_subparsers(dest="what", required=True)
    sub.add_parser("health", help="liveness and switch counts")
    nets = sub.add_parser("networks", help="every network, or one")
    nets.add_argument("name", nargs="?")
    create = sub.add_parser("create-network", help="add a network (admin)")
    create.add_argument("name")
    create.add_argument("spec", type=_spec, help="as under networks.NAME in the YAML "
                                                 "(JSON, YAML or @FILE)")
    sub.add_parser("delete-network", help="remove a network (admin)").add_argument("name")
    client = sub.add_parser("client", help="a client's policy; with --path/--service, set it")
    client.add_argument("network")
    client.add_argument("host")
    client.add_argument("--path", choices=("primary", "shadow"))
    client.add_argument("--service", choices=("primary", "twin"))
    for what, text in (("activate", "activate a network's shadow"),
                       ("deactivate", "deactivate a network's shadow"),
                       ("role-swap", "swap every host of a network with its twin")):
        sub.add_parser(what, help=text).add_argument("network")
    sessions = sub.add_parser("sessions", help="a network's mirror sessions, or one")
    sessions.add_argument("network")
    sessions.add_argument("name", nargs="?")
    create_s = sub.add_parser("create-session", help="add a mirror session")
    create_s.add_argument("network")
    create_s.add_argument("spec", type=_spec, help="as under shadow.mirror in the YAML, "
                                                   "with a name (JSON, YAML or @FILE)")
    delete_s = sub.add_parser("delete-session", help="remove a mirror session")
    delete_s.add_argument("network")
    delete_s.add_argument("name")
    alerts = sub.add_parser("alerts", help="alerts the shadows' watch raised, newest first")
    alerts.add_argument("--network")
    alerts.add_argument("--state", choices=("open", "closed"))
    sub.add_parser("blocks", help="sources the response keeps out of (or meters into) "
                                  "primary networks")
    unblock = sub.add_parser("unblock", help="lift a block before its TTL (operator)")
    unblock.add_argument("network")
    unblock.add_argument("source", help="the blocked IPv4 address or MAC")
    events = sub.add_parser("events", help="controller events from a cursor")
    events.add_argument("--since", type=int, default=0)
    events.add_argument("--limit", type=int, default=100)
    for p in (client, *(sub.choices[w] for w in ("activate", "deactivate", "role-swap"))):
        p.add_argument("--reason", default="cli", help="recorded with the event")
    api.set_defaults(func=run)
    return api
