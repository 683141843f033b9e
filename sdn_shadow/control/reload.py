"""A configuration reload that cannot take the controller down: new config, or a refusal.

Anything a reload raises (a `ConfigError`, `ReloadRefused`, but also an
`OverflowError` or `ValueError` from a 400-digit number, a `RecursionError`
from deep nesting, or a bug) becomes a `Refused` with its reasons; the running
state stays. The caller records and logs it and goes on polling.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sdn_shadow.api.keyed import Merged
from sdn_shadow.api.restore import file_time
from sdn_shadow.api.store import ApiStore
from sdn_shadow.config import ConfigError, read_document, validate_config
from sdn_shadow.config.model import Config
from sdn_shadow.core import ReloadRefused, ShadowCore
from sdn_shadow.openflow.messages import Message

LOG = logging.getLogger("sdn_shadow")

MAX_REASON = 300  # characters of an unexpected exception's text kept in its reason


@dataclass(frozen=True)
class Reloaded:
    """The new configuration is live: its document, the changes to send and the summary."""

    document: dict[str, Any]
    updates: dict[int, list[Message]]
    reason: str


@dataclass(frozen=True)
class Refused:
    """The reload changed nothing: why (one line per problem); `unexpected` when it was
    not a validation problem but an exception of another kind."""

    errors: tuple[str, ...]
    unexpected: bool = False
    trace: str = ""  # the traceback of an unexpected exception


def describe(err: BaseException) -> str:
    """An exception as one line: its type and (shortened) text."""
    text = " ".join(str(err).split())
    if len(text) > MAX_REASON:
        text = text[:MAX_REASON] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def read_config(path: str, store: ApiStore | None
                ) -> tuple[dict[str, Any], Config, Merged | None]:
    """The file at `path` with the API's kept changes over it, validated (ConfigError),
    and how they were laid (for `ApiStore.adopt` once it is live)."""
    document = read_document(path)
    merged = None
    if store is not None:
        merged = store.merge(document, file_time(path))
        document = merged.document
    return document, validate_config(document, path), merged


def _conflicts(merged: Merged | None) -> str | None:
    """The reload event's lead when kept API changes met file edits of the same keys."""
    if merged is None or not merged.conflicts:
        return None
    keys = ", ".join(line.split(": ", 1)[0] for line in merged.conflicts)
    return f"keys changed both in the file and over the API: {keys} (see /health)"


def _unexpected(path: str, err: Exception) -> Refused:
    return Refused((f"{path}: {describe(err)}",), unexpected=True,
                   trace=traceback.format_exc(limit=20))


def reload(core: ShadowCore, lock: AbstractContextManager[Any], path: str,
           store: ApiStore | None, now: float,
           applied: Callable[[dict[str, Any]], None] = lambda _: None) -> Reloaded | Refused:
    """Read, validate and take live the configuration at `path`; never raises (but for
    KeyboardInterrupt and SystemExit). The file is read outside `lock`; the core is
    changed, and `applied(document)` called, under it."""
    try:
        document, config, merged = read_config(path, store)
    except ConfigError as err:
        return Refused(tuple(err.lines()) or (f"{path}: {describe(err)}",))
    except Exception as err:  # any failure to read is a refusal
        return _unexpected(path, err)
    with lock:
        try:
            updates = core.reload(now, config, reason=_conflicts(merged))
        except ReloadRefused as err:
            return Refused((str(err),))
        except Exception as err:  # the core must not take the loop down
            return _unexpected(path, err)
        applied(document)
        reason = next((str(e.get("reason", "")) for e in reversed(core.events)
                       if e.get("kind") == "config"), "reloaded")
    if store is not None and merged is not None:  # outside the lock: it writes the store
        store.adopt(merged)
        for line in merged.conflicts:
            LOG.warning("%s: %s", path, line)
    return Reloaded(document, updates, reason)
