"""What a viewer may not read: where the controller's LDAP mirror binds and its password file.

A network's `spec` is its YAML mapping; under `shadow.ldap` it names the DN
the controller binds as and the file its password is in. Operators and
admins see them (they run and change the network); viewers and the
dashboard see `HIDDEN` in their place.
"""

from __future__ import annotations

import copy
from typing import Any

HIDDEN = "(hidden from viewers)"
SECRET_KEYS = ("bind_dn", "password_file")


def for_viewer(network: dict[str, Any]) -> dict[str, Any]:
    """`network` (as `GET /networks/{name}` answers) with its LDAP bind DN and password
    file hidden; the same object when it has none."""
    spec = network.get("spec")
    shadow = spec.get("shadow") if isinstance(spec, dict) else None
    ldap = shadow.get("ldap") if isinstance(shadow, dict) else None
    if not isinstance(ldap, dict) or not any(k in ldap for k in SECRET_KEYS):
        return network
    out = copy.deepcopy(network)
    hidden = out["spec"]["shadow"]["ldap"]
    for key in SECRET_KEYS:
        if key in hidden:
            hidden[key] = HIDDEN
    return out
