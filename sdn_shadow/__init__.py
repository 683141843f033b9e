"""sdn-shadow: a shadow network for every primary virtual network (OS-Ken, OpenFlow 1.3)."""
