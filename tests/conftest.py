"""Shared test settings: one torch thread, a private model cache per test session."""

import os
import tempfile

os.environ.setdefault("NEURIPS23_CACHE", tempfile.mkdtemp(prefix="neurips23-test-cache-"))
os.environ.setdefault("NEURIPS23_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
