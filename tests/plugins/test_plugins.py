"""Plugins: a package outside detopt (tests/plugins/detopt-example-plugins, installed by
scripts/install.sh) provides a runner, an optimizer and a problem; a study uses all three by
name from YAML with no change to detopt's source."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest
import yaml

from detopt import plugins
from detopt.errors import ConfigError

EXAMPLE_PACKAGE = "detopt-example-plugins"


def detopt(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "detopt", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def test_builtins_and_the_example_package_register_through_entry_points():
    for kind, name, package in [("runner", "local", "detopt"), ("optimizer", "mobo", "detopt"),
                                ("problem", "drich", "detopt"), ("runner", "threads", EXAMPLE_PACKAGE),
                                ("optimizer", "halton", EXAMPLE_PACKAGE),
                                ("problem", "zdt1", EXAMPLE_PACKAGE)]:
        info = plugins.info(kind, name)
        assert info.package == package, (kind, name, info)


def test_a_study_uses_a_third_party_runner_optimizer_and_problem(tmp_path):
    config = {"name": "plugged", "storage": "plugged.db",
              "problem": {"builtin": "zdt1", "options": {"n_variables": 4}},
              "optimizer": {"name": "halton", "seed": 3, "options": {"scramble": True}},
              "runner": {"kind": "threads", "threads": 2},
              "study": {"max_trials": 8}}
    path = tmp_path / "plugged.yaml"
    path.write_text(yaml.safe_dump(config))
    run = detopt("run", str(path), "--no-progress", "--no-report")
    assert run.returncode == 0, run.stderr
    assert "8 completed" in run.stdout
    exported = detopt("export", str(tmp_path / "plugged.db"), "--csv", str(tmp_path / "t.csv"))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(open(tmp_path / "t.csv")))
    assert len(rows) == 8 and {r["generator"] for r in rows} == {"halton"}
    assert all(0 <= float(r["x4"]) <= 1 for r in rows)


@pytest.mark.parametrize("section, value, field, fragment", [
    ("runner", {"kind": "threads", "thread": 2}, "runner.thread", "use one of: threads"),
    ("runner", {"kind": "threads", "threads": 0}, "runner.threads", "greater than or equal to 1"),
    ("optimizer", {"name": "halton", "options": {"scrambled": False}},
     "optimizer.options.scrambled", "use one of: scramble"),
    ("problem", {"builtin": "zdt1", "options": {"n_variables": "many"}},
     "problem.options.n_variables", "valid integer"),
    ("runner", {"kind": "no-such-runner"}, "runner.kind", "threads"),
])
def test_a_wrong_option_names_the_plugin_the_field_and_the_allowed_values(
        tmp_path, section, value, field, fragment):
    config = {"name": "bad", "problem": {"builtin": "zdt1"}, "study": {"max_trials": 2},
              section: value}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = detopt("validate", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr.strip()
    assert "Traceback" not in message and len(message.splitlines()) == 1, message
    assert field in message and fragment in message, message


def test_plugins_command_lists_what_is_installed_and_from_which_package():
    result = detopt("plugins", "--options")
    assert result.returncode == 0, result.stderr
    for line in ("threads  (detopt-example-plugins 0.1.0)", "halton  (detopt-example-plugins",
                 "zdt1  (detopt-example-plugins", "local  (detopt ", "mobo  (detopt "):
        assert line in result.stdout, result.stdout
    assert "    threads = 2  threads evaluating at once" in result.stdout
    assert "[bold]" not in result.stdout and "``" not in result.stdout


def test_unknown_plugin_lists_the_installed_names():
    with pytest.raises(ConfigError) as info:
        plugins.load("optimizer", "cmaes")
    assert info.value.field == "optimizer.name" and "halton" in info.value.fix
