"""Mininet topologies for the sdn-shadow lab (usable with `mn --custom`)."""
