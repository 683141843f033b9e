"""Telemetry: stats replies -> counters (decode) -> rates -> bounded series with SQLite history."""
