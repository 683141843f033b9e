"""What the API service refuses with: each error names the field and says why."""

from __future__ import annotations


class NotFound(LookupError):
    """No such network, host or resource; `field` names where it was asked for."""

    def __init__(self, reason: str, field: str = "path") -> None:
        super().__init__(reason)
        self.field = field


class Invalid(ValueError):
    """A request the controller refuses: `field` names what is wrong, `reason` why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class Rejected(ValueError):
    """A configuration change the parser refused: every (key path, reason)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {r}" for p, r in problems))
        self.problems = problems


class Conflict(Exception):
    """A change the current state does not allow (HTTP 409); `field` and `reason` say why.

    Not a ValueError: the core's refusals are ValueErrors and become Invalid.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class TemplateRefused(ValueError):
    """A template or instance that cannot be instantiated (HTTP 422): every (field, reason).

    Fields name the document: `template.<key path>`, `instance.<key path>`, or
    a config key path for what the config parser found and neither document holds.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {r}" for p, r in problems))
        self.problems = problems


class Unsaved(Exception):
    """A change the API store could not keep (HTTP 503): it was undone on the switches, so
    the running network and the store still agree."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = "store", reason
