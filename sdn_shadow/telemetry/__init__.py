"""Telemetry: stats replies -> counters -> rates -> bounded series with an SQLite history.

- `multipart`: OpenFlow 1.3 multipart framing and stats requests (pure)
- `decode`, `oxm`: flow / port / meter stats replies -> numpy arrays; matches on demand (pure)
- `rates`: counters -> bytes/s and packets/s per key; sums per network or link (pure)
- `ring`: bounded in-memory windows per series (pure)
- `history`: the SQLite file behind the store (I/O)
- `store`: `SeriesStore`, windows plus history, what the forecaster reads
- `ofsocket`: a blocking OpenFlow client for OVS management sockets (tooling, benchmarks)
"""
