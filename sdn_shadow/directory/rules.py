"""Mapping rules, pure: how attribute values of a shadow entry differ from the primary's."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_GROUP_REF = re.compile(r"\\(\d+)|\\g<([^>]*)>")


@dataclass(frozen=True)
class MappingRule:
    """Rewrite one attribute's values in the shadow.

    An exact rule replaces a value equal to `old` by `new`; a regex rule
    substitutes every match of the pattern `old` by `new` (`re.sub`, with
    `\\1` group references). With `object_class` only entries of that class
    are touched. A value mapped to the empty string is dropped (the attribute
    too when none remain); values that become equal are kept once, in order.
    """

    attribute: str
    old: str
    new: str
    regex: bool = False
    object_class: str | None = None

    def __post_init__(self) -> None:
        """Normalise names to lower case and check a regex and its group references."""
        if not self.attribute.strip():
            raise ValueError("mapping rule: empty attribute name")
        object.__setattr__(self, "attribute", self.attribute.strip().lower())
        if self.object_class is not None:
            object.__setattr__(self, "object_class", self.object_class.strip().lower())
        if self.regex:
            try:
                pattern = re.compile(self.old)
            except re.error as exc:
                raise ValueError(f"mapping rule for {self.attribute}: bad pattern "
                                 f"{self.old!r}: {exc}") from None
            for number, name in _GROUP_REF.findall(self.new):
                if (number and int(number) > pattern.groups) or (
                        name and name not in pattern.groupindex
                        and not (name.isdigit() and int(name) <= pattern.groups)):
                    raise ValueError(f"mapping rule for {self.attribute}: replacement "
                                     f"{self.new!r} refers to a group the pattern lacks")

    def applies(self, object_classes: Iterable[str]) -> bool:
        """Whether the rule touches an entry with these object classes."""
        return self.object_class is None or self.object_class in {
            c.lower() for c in object_classes}

    def map(self, value: str) -> str:
        """The shadow's value for one primary value."""
        if self.regex:
            return re.sub(self.old, self.new, value)
        return self.new if value == self.old else value


def apply_rules(attributes: Mapping[str, tuple[str, ...]],
                rules: Iterable[MappingRule]) -> dict[str, tuple[str, ...]]:
    """The attributes after every rule, in order; `attributes` is left as it was."""
    result = dict(attributes)
    classes = result.get("objectclass", ())
    for rule in rules:
        values = result.get(rule.attribute)
        if values is None or not rule.applies(classes):
            continue
        mapped = [rule.map(v) for v in values]
        kept = tuple(dict.fromkeys(v for v in mapped if v != ""))
        if kept:
            result[rule.attribute] = kept
        else:
            del result[rule.attribute]
    return result


def parse_rule(text: str, regex: bool = False) -> MappingRule:
    """A rule from `[CLASS/]ATTR=OLD:NEW` (in OLD write `\\:` for a colon); ValueError if bad."""
    head, sep, body = text.partition("=")
    if not sep:
        raise ValueError(f"mapping {text!r}: expected [CLASS/]ATTR=OLD:NEW")
    object_class, slash, attribute = head.rpartition("/")
    split = re.search(r"(?<!\\):", body)
    if split is None or not attribute.strip() or (slash and not object_class.strip()):
        raise ValueError(f"mapping {text!r}: expected [CLASS/]ATTR=OLD:NEW")
    old, new = body[:split.start()], body[split.end():]
    if not regex:
        old = old.replace("\\:", ":")
    return MappingRule(attribute, old, new, regex=regex, object_class=object_class or None)
