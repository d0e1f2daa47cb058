"""`neurips23 ARGS` run in the test's own process (the console entry point), for the CLI tests."""

import sys


def run_main(args: list[str], capsys, monkeypatch) -> tuple[int, str, str]:
    """`neurips23 ARGS` in this process through the console entry point: (exit code, out, err)."""
    from neurips23.cli import main

    monkeypatch.setattr(sys, "argv", ["neurips23", *args])
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err
