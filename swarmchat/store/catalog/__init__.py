"""The catalog: a SQLite cache derived from a store's sessions that serves `list` and `search`."""
