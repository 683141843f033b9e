"""The fabric as the API shows it: each switch's connection and sync, each link's load (pure).

The view is the core's readout (`core.readout.fabric_state`); kept here for its callers.
"""

from __future__ import annotations

from sdn_shadow.core.readout import fabric_state

__all__ = ["fabric_state"]
