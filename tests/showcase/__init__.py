"""The fixed showcase world (a seeded queue, a fixed engine, a frozen clock) and the
screenshot scenes played on it, for the snapshot tests and the README's screenshots."""
