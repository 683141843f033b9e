"""`sdn-shadow token add|list|remove`: the REST API's token file (names, roles, hashes)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sdn_shadow.api.auth import TokenBook, TokenFileError
from sdn_shadow.config.model import ROLES

EXIT_INVALID = 2


def add_parser(subparsers: Any) -> None:
    """Add `token add|list|remove` to an argparse subparsers object."""
    token = subparsers.add_parser("token", help="manage REST API tokens").add_subparsers(
        dest="token_command", required=True)
    add = token.add_parser("add", help="make a token; prints it once, stores only its hash")
    add.add_argument("--file", required=True, help="token file (created if missing)")
    add.add_argument("--name", required=True, help="who or what holds the token")
    add.add_argument("--role", required=True, choices=list(ROLES))
    add.set_defaults(func=run_add)
    show = token.add_parser("list", help="the token file's names and roles (never tokens)")
    show.add_argument("--file", required=True, help="token file")
    show.set_defaults(func=run_list)
    remove = token.add_parser("remove", help="revoke a token by its name; a running "
                                             "controller stops accepting it at once")
    remove.add_argument("--file", required=True, help="token file")
    remove.add_argument("--name", required=True, help="the name given to `token add`")
    remove.set_defaults(func=run_remove)


def _fail(command: str, err: Exception) -> int:
    print(f"sdn-shadow token {command}: {err}", file=sys.stderr)
    return EXIT_INVALID


def run_add(args: argparse.Namespace) -> int:
    """Add a token to a token file; print it (the file keeps only its hash)."""
    try:
        book = TokenBook.load(args.file, missing_ok=True)
        token = book.add(args.name, args.role)
        book.save(args.file)
    except (TokenFileError, ValueError, OSError) as err:
        return _fail("add", err)
    print(token)
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print `NAME ROLE` per token, by name."""
    try:
        book = TokenBook.load(args.file)
    except TokenFileError as err:
        return _fail("list", err)
    for holder in sorted(book.holders.values(), key=lambda h: h.name):
        print(f"{holder.name} {holder.role}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    """Remove the token named `--name` from the file."""
    try:
        book = TokenBook.load(args.file)
        book.remove(args.name)
        book.save(args.file)
    except (TokenFileError, ValueError, OSError) as err:
        return _fail("remove", err)
    return 0
