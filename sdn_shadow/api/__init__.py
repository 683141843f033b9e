"""HTTP adapters: the Prometheus endpoint (and later the REST API and dashboard)."""
