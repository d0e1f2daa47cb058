"""The substrate check: a tiny LM trained from scratch learns a synthetic task (the core works)."""
