"""Shadow analytics: anomaly detection, capture and replay, synthetic users, emulated VMs."""
