"""The API service of a running controller: the shared service, plus what only the app knows.

`health` adds the last reload's outcome, so a refused SIGHUP reload shows
in `GET /api/v1/health` (`reload.result: rejected` and its errors) as well
as in the log and the events; and the keys both the file and the API changed
that the last start or reload found (`api_changes.conflicts`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sdn_shadow.api.service import ControllerService

ReloadStatus = Callable[[], dict[str, Any] | None]


class AppService(ControllerService):
    """`ControllerService` whose health also says how the last reload went."""

    def __init__(self, *args: Any, reload_status: ReloadStatus = lambda: None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reload_status = reload_status

    def health(self) -> dict:
        """Liveness, switch counts, and the last reload (when there was one)."""
        out = super().health()
        last = self.reload_status()
        if last is not None:
            out["reload"] = last
        if self.store is not None and self.store.conflicts:
            out["api_changes"] = {"conflicts": list(self.store.conflicts)}
        return out
