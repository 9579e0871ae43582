"""Keeping trips: the disk store, the relay, and the connection from a peer to a relay."""
