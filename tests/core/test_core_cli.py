import subprocess
import sys


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "neurips23.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def test_help_lists_core_commands():
    r = _cli("--help")
    assert r.returncode == 0
    for name in ("reproduce", "report", "models", "serve"):
        assert name in r.stdout


def test_errors_are_one_line_without_traceback():
    r = _cli("reproduce", "no-such-method")
    assert r.returncode == 2
    assert "unknown method 'no-such-method'" in r.stderr and "Traceback" not in r.stderr
    r = _cli("reproduce", "substrate", "--set", "train.nope=1")
    assert r.returncode == 2 and "valid keys" in r.stderr and "Traceback" not in r.stderr
    r = _cli("--debug", "reproduce", "no-such-method")
    assert r.returncode != 0 and "Traceback" in r.stderr
    r = _cli("models", "train", "--task", "nope")
    assert r.returncode == 2 and "unknown task 'nope'" in r.stderr
