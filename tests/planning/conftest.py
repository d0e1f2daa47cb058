"""Planning tests run the CLI in-process: a command's time limit then counts from the entry
point's call (`limits.process_age`), not from the start of the pytest process."""
