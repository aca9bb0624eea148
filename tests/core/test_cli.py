"""The command line: the whole user path, and bad input -> exit status 2, one clear message, no
traceback, nothing stored lost."""

import signal
import subprocess
import sys
import time

import pytest
import yaml

from detopt.storage import Storage

GOOD = {
    "name": "cli-study",
    "problem": {"builtin": "dtlz2", "options": {"n_objectives": 2, "n_variables": 4}},
    "optimizer": {"name": "nsga2", "seed": 1},
    "runner": {"kind": "local", "workers": 2},
    "study": {"max_trials": 16, "concurrency": 2},
}


def detopt(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "detopt", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def write(tmp_path, config, name="study.yaml"):
    path = tmp_path / name
    path.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
    return path


def with_changes(**sections):
    config = yaml.safe_load(yaml.safe_dump(GOOD))
    for dotted, value in sections.items():
        node = config
        *parents, leaf = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return config


def test_run_status_export_report_and_resume(tmp_path):
    config = write(tmp_path, GOOD)
    done = detopt("run", str(config), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "normalized hypervolume against the true front:" in done.stdout
    report = tmp_path / "runs" / "cli-study-report" / "index.html"
    assert report.is_file() and "data:image/png;base64" in report.read_text()

    status = detopt("status", str(tmp_path / "runs" / "cli-study.db"))
    assert status.returncode == 0 and "16 completed" in status.stdout

    csv = tmp_path / "out.csv"
    exported = detopt("export", str(config), "--csv", str(csv))
    assert exported.returncode == 0, exported.stderr
    lines = csv.read_text().splitlines()
    assert len(lines) == 17 and lines[0].startswith("trial,status,generator")

    more = detopt("resume", str(config), "--max-trials", "20", "--no-progress", "--no-report")
    assert more.returncode == 0, more.stderr
    assert "20 completed" in more.stdout


def test_ctrl_c_stops_cleanly_and_resume_finishes(tmp_path):
    config = write(tmp_path, with_changes(
        problem={"evaluate": "detopt.problems.synthetic:sleep", "evaluate_options": {"seconds": 0.5},
                 "parameters": [{"name": "x", "low": 0, "high": 1}],
                 "objectives": [{"name": "f1"}, {"name": "f2"}]},
        study={"max_trials": 12, "concurrency": 2}))
    driver = subprocess.Popen([sys.executable, "-m", "detopt", "run", str(config), "--no-progress",
                               "--no-report"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db = tmp_path / "runs" / "cli-study.db"
    deadline = time.time() + 60
    while time.time() < deadline and not (db.exists() and _completed(db) >= 2):
        time.sleep(0.05)
    driver.send_signal(signal.SIGINT)
    stdout, stderr = driver.communicate(timeout=60)
    assert driver.returncode == 130, stderr
    assert "Interrupted; everything is stored" in stdout and "Traceback" not in stderr
    with Storage(db) as storage:
        record = storage.get_study("cli-study")
        assert record.status == "interrupted"
        states = {t.status.value for t in storage.load_trials(record.id)}
        assert states <= {"completed", "pending"}
    resumed = detopt("resume", str(db), "--no-progress", "--no-report")
    assert resumed.returncode == 0 and "12 completed" in resumed.stdout


def _completed(db):
    with Storage(db) as storage:
        record = storage.get_study("cli-study")
        return storage.count_by_status(record.id).get("completed", 0) if record else 0


BAD_CONFIGS = [
    ("name: [unclosed\n", "CONFIG", "at line 2"),
    ("- just\n- a list\n", "config", "mapping"),
    (with_changes(problem=None), "problem", "required"),
    (with_changes(optimizer__nmae="nsga2"), "optimizer.nmae", "unknown field"),
    (with_changes(optimizer__name="cmaes"), "optimizer.name", "unknown optimizer"),
    (with_changes(optimizer__options={"pop_size": 1}), "optimizer.options.pop_size", "greater than"),
    (with_changes(problem__builtin="dtlz9"), "problem.builtin", "unknown problem"),
    (with_changes(study__max_trials=-5), "study.max_trials", "greater than"),
    (with_changes(study__max_wall_time="soon"), "study.max_wall_time", "cannot read duration"),
    (with_changes(study__on_failure="penalty"), "study.penalty", "penalty value"),
    (with_changes(runner__kind="cloud"), "runner.kind", "unknown runner"),
    (with_changes(problem={"evaluate": "mypkg:f", "parameters": [{"name": "x", "low": 2, "high": 1}],
                           "objectives": [{"name": "f"}]}), "parameters[0]", "must be below"),
    (with_changes(problem={"evaluate": "mypkg:f", "parameters": [{"name": "x", "low": 0, "high": 1}],
                           "constraints": ["x * x <= 1"], "objectives": [{"name": "f"}]}),
     "constraints[0]", "not linear"),
    (with_changes(problem={"evaluate": "mypkg:f", "parameters": [{"name": "x", "type": "int"}],
                           "objectives": [{"name": "f"}]}), "problem.parameters.0.low", "required"),
    (with_changes(problem={"parameters": [{"name": "x", "low": 0, "high": 1}],
                           "objectives": [{"name": "f"}]}), "problem", "needs 'evaluate'"),
    (with_changes(problem__objectives=[{"name": "f7"}]), "problem.objectives[0].name", "no objective"),
    (with_changes(problem={"evaluate": "no_such_pkg_xyz:run", "parameters": [{"name": "x", "low": 0, "high": 1}],
                           "objectives": [{"name": "f"}]}), "evaluate", "cannot import module"),
    (with_changes(study__initial_designs=[{"x1": 0.5}]), "study.initial_designs[0].x2", "missing value"),
    (with_changes(problem={"evaluate": "mypkg:f", "parameters": [{"name": "x", "low": 0, "high": 1}],
                           "check": "detopt.problems.drich:no_check", "objectives": [{"name": "f"}]}),
     "problem.check", "has no 'no_check'"),
    ({"name": "overlap", "problem": {"builtin": "drich"}, "study": {"max_trials": 3, "initial_designs": [
        {"mirror_radius": 219.8, "mirror_centerx": 114.6, "sensor_radius": 110.0,
         "sensor_centerx": 183.4, "sensor_dz": 10.4, "snout_length": 10.0,
         "aerogel_thickness": 4.0}]}},
     "study.initial_designs[0]", "fails the design check: constraint 'pdu_in_vessel'"),
]


@pytest.mark.parametrize("config, field, fragment", BAD_CONFIGS)
@pytest.mark.parametrize("command", ["validate", pytest.param("run", marks=pytest.mark.slow)])
def test_bad_config_exits_2_with_a_one_line_message(tmp_path, command, config, field, fragment):
    path = write(tmp_path, config)
    result = detopt(command, str(path), "--no-progress") if command == "run" else detopt(command, str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.startswith("error:") and field in message and fragment in message, message
    assert len(message.splitlines()) <= 3
    assert not (tmp_path / "runs").exists() or command == "run"


def test_bad_input_loses_nothing_already_stored(tmp_path):
    config = write(tmp_path, GOOD)
    assert detopt("run", str(config), "--no-progress", "--no-report").returncode == 0
    again = detopt("run", str(config), "--no-progress")  # the name is taken
    assert again.returncode == 2 and "already exists" in again.stderr and "detopt resume" in again.stderr
    wrong = detopt("resume", str(config), "--max-trials", "0")
    assert wrong.returncode == 2 and "study.max_trials" in wrong.stderr
    missing = detopt("status", str(tmp_path / "nope.db"))
    assert missing.returncode == 2 and "no such storage file" in missing.stderr
    with Storage(tmp_path / "runs" / "cli-study.db") as storage:
        record = storage.get_study("cli-study")
        assert storage.count_by_status(record.id) == {"completed": 16}


def test_help_lists_every_command():
    result = detopt("--help")
    assert result.returncode == 0
    for command in ("run", "resume", "status", "validate", "export", "report", "drich"):
        assert command in result.stdout
    assert detopt("run", "--help").returncode == 0
    assert "nsga2" in detopt("optimizers").stdout
