"""Mininet lab harness: nets, controller process, traffic and capture helpers (does I/O)."""
