"""sdn-shadow: a shadow network for every primary virtual network (OS-Ken, OpenFlow 1.3)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sdn-shadow")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
