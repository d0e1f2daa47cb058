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


def test_reproduce_show_config_prints_the_resolved_yaml_and_runs_nothing(tmp_path):
    import yaml

    from neurips23.config import dump_yaml
    from neurips23.core.reproduction import get_reproduction, resolve_config

    runs = tmp_path / "runs"
    r = _cli("reproduce", "tot", "--profile", "full", "--set", "n_test=5", "--show-config",
             "--runs-dir", str(runs))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "# tot (full)\n" + dump_yaml(
        resolve_config(get_reproduction("tot"), "full", None, ["n_test=5"]))
    assert not runs.exists()
    # what it prints is a config file: read back, it resolves to the same config
    (tmp_path / "tot.yaml").write_text(r.stdout)
    again = resolve_config(get_reproduction("tot"), "full", tmp_path / "tot.yaml")
    assert dump_yaml(again) == r.stdout.split("\n", 1)[1]
    r = _cli("reproduce", "tot", "dpo", "--show-config", "--runs-dir", str(runs))
    assert r.returncode == 0, r.stderr
    docs = r.stdout.split("---\n")
    assert [d.splitlines()[0] for d in docs] == ["# tot (quick)", "# dpo (quick)"]
    assert [yaml.safe_load(d) for d in docs] == list(yaml.safe_load_all(r.stdout))
    assert yaml.safe_load(docs[1])["betas"] == resolve_config(get_reproduction("dpo"), "quick").betas
    assert not runs.exists()
