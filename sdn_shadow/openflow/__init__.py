"""Datapath-free OpenFlow model: pipeline declaration, messages, compiler, wire encoding."""
