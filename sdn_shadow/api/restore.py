"""Bring back what the API changed before a restart: networks first, then runtime state.

Kept network changes are laid over the configuration file key by key; if
the result no longer validates (the file changed under them), the controller
starts from the file alone and says why, rather than refusing to start. Runtime settings go
through the core's own decisions, so they are checked exactly as an API
request would be; one that no longer applies is dropped from the store.
"""

from __future__ import annotations

import os

from sdn_shadow.api.store import ApiStore
from sdn_shadow.config import Config, ConfigError, validate_config
from sdn_shadow.core import ShadowCore


def file_time(path: str | None) -> float | None:
    """When the file at `path` was last modified (None: unknown)."""
    try:
        return os.stat(path).st_mtime if path else None
    except OSError:
        return None


def layered(document: dict, store: ApiStore, source: str, file_time: float | None = None
            ) -> tuple[dict, Config | None, list[str]]:
    """The file's `document` with the kept changes over it, its Config, and any problems.

    With problems, the returned document is the file's own and Config is None.
    Without, the store adopts the result (see `ApiStore.adopt`); its
    `conflicts` then say which keys both the file and the API changed.
    """
    merged = store.merge(document, file_time)
    if not merged.applied and not merged.drop and not merged.legacy:
        store.adopt(merged)
        return document, None, []
    try:
        config = validate_config(merged.document, source)
    except ConfigError as err:
        problems = [f"{p}: {r}" for p, r in err.problems]
        store.file = merged.file
        store.conflicts = [f"the API's kept changes no longer fit the file and were not "
                           f"laid over it: {problem}" for problem in problems]
        return document, None, problems
    store.adopt(merged)
    return merged.document, config, []


def replay(core: ShadowCore, store: ApiStore, now: float) -> list[str]:
    """Re-apply kept client policies and shadow states to `core`; a line per thing done.

    The messages the core returns are not needed: no switch is connected yet,
    and each one is reconciled to the resulting plan when it connects.
    """
    lines = []
    for state in store.shadows():
        try:
            if state.swapped:
                core.swap_roles(now, state.network, "restored after restart")
                lines.append(f"{state.network}: roles swapped")
            if state.active:
                core.set_shadow_active(now, state.network, True, "restored after restart")
                lines.append(f"{state.network}: shadow active")
        except (ValueError, KeyError) as err:
            store.forget_shadow(state.network)
            lines.append(f"{state.network}: shadow state dropped ({err})")
    for c in store.clients():
        try:
            if c.path is not None:
                core.set_client_path(now, c.network, c.host, c.path, "restored after restart")
            if c.service is not None:
                core.set_client_service(now, c.network, c.host, c.service,
                                        "restored after restart")
            lines.append(f"{c.network}/{c.host}: path {c.path or '-'}, "
                         f"service {c.service or '-'}")
        except (ValueError, KeyError) as err:
            store.forget_client(c.network, c.host)
            lines.append(f"{c.network}/{c.host}: policy dropped ({err})")
    return lines
