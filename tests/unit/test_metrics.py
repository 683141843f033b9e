"""Prometheus series names split into family and labels (the endpoint itself: tests/system)."""

from __future__ import annotations

from sdn_shadow.api.metrics import split_series


def test_split_series() -> None:
    assert split_series("client:tenant-a:h1:tx") == ("client", ("tenant-a", "h1", "tx"))
