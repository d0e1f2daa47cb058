"""Planning tests run the CLI in-process: `plan solve` counts its time limit from process start
(`limits.process_age`), which in a test session is the start of pytest, so it reads 0 here."""

import pytest


@pytest.fixture(autouse=True)
def command_starts_now(monkeypatch):
    monkeypatch.setattr("neurips23.planning.limits.process_age", lambda: 0.0)
