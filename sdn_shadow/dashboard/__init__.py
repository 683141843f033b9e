"""The reporting dashboard: a page at `/` over the public API, and the stream it watches."""

from sdn_shadow.dashboard.routes import mount_dashboard
from sdn_shadow.dashboard.stream import StreamSettings

__all__ = ["StreamSettings", "mount_dashboard"]
