"""Containers: the apptainer/singularity command line (contract: no apptainer can run here, and
no image could be pulled), and a stage that really runs inside bubblewrap (bwrap)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pipekit import METRICS_STAGE, run, stored, study

from detopt.errors import ConfigError
from detopt.pipeline.container import container_argv, setup_argv
from detopt.trial import TrialStatus

TRIAL = Path("/scratch/me/work/t3")
JOB = TRIAL / "a1" / "simulate" / "j5"


def test_apptainer_command_line_contract():
    container = {"engine": "apptainer", "image": "/cvmfs/singularity.opensciencegrid.org/eicweb/eic_xl:24.11.1-stable",
                 "binds": ["/cvmfs", "/data/fieldmaps:/opt/fieldmaps:ro"], "options": ["--cleanenv"]}
    command = setup_argv("/opt/local/bin/thisepic.sh", ["epic_craterlake"],
                         ["npsim", "--compactFile", "a b.xml", "--gun.particle", "pi+; rm -rf /"])
    argv, env = container_argv(container, command, trial_dir=TRIAL, cwd=JOB,
                               env={"DETECTOR_PATH": str(TRIAL / "a1" / "geometry"), "N": "a,b c"})
    assert argv == [
        "apptainer", "exec",
        "--bind", f"{TRIAL}:{TRIAL}",
        "--bind", "/cvmfs:/cvmfs",
        "--bind", "/data/fieldmaps:/opt/fieldmaps:ro",
        "--pwd", str(JOB),
        "--cleanenv",
        container["image"],
        *command,
    ]
    # values reach the container through the engine's environment, not its option parser
    assert env == {"APPTAINERENV_DETECTOR_PATH": str(TRIAL / "a1" / "geometry"),
                   "APPTAINERENV_N": "a,b c"}
    argv, env = container_argv({**container, "engine": "singularity", "executable": "/usr/bin/singularity"},
                               ["true"], trial_dir=TRIAL, cwd=JOB, env={"A": "1"})
    assert argv[:2] == ["/usr/bin/singularity", "exec"] and argv[-2:] == [container["image"], "true"]
    assert env == {"SINGULARITYENV_A": "1"}


def test_binds_and_work_directories_that_an_engine_would_split_are_refused():
    with pytest.raises(ConfigError, match="cannot bind"):
        container_argv({"engine": "apptainer", "image": "x.sif"}, ["true"],
                       trial_dir=Path("/w/a,b"), cwd=Path("/w/a,b/j0"), env={})
    from pydantic import ValidationError

    from detopt.pipeline.config import ContainerConfig
    for bad in ("/a,/b", "/a:/b:rx", ":/b"):
        with pytest.raises(ValidationError, match="src\\[:dst"):
            ContainerConfig(engine="apptainer", image="x.sif", binds=[bad])


def test_bwrap_command_line():
    argv, env = container_argv({"engine": "bwrap", "image": "/", "binds": ["/data:/data:ro"]},
                               ["python", "x.py"], trial_dir=TRIAL, cwd=JOB, env={"A": "1"})
    assert argv == ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                    "--tmpfs", "/tmp", "--ro-bind", "/data", "/data",
                    "--bind", str(TRIAL), str(TRIAL), "--chdir", str(JOB), "--unshare-pid",
                    "--die-with-parent", "--", "python", "x.py"]
    assert env == {}


PROBE = """
import json, os, pathlib
out = {"pid": os.getpid(), "cwd": os.getcwd(), "tmp": sorted(os.listdir("/tmp"))}
try:
    pathlib.Path("/usr/detopt-probe").write_text("x")
    out["root_writable"] = True
except OSError:
    out["root_writable"] = False
pathlib.Path("/tmp/inside").write_text("x")
json.dump(out, open("probe.json", "w"))
"""


def test_a_stage_runs_inside_bubblewrap(tmp_path):
    assert shutil.which("bwrap"), "bubblewrap is needed (apt-get install bubblewrap; " \
                                  "scripts/services/install_packages.sh installs it)"
    (tmp_path / "probe.py").write_text(PROBE)
    stages = [{"name": "inside", "command": ["{{ python }}", str(tmp_path / "probe.py")],
               # the test folder read-only (it holds probe.py), the trial folder inside it writable
               "container": {"engine": "bwrap", "binds": [f"{tmp_path}:{tmp_path}:ro"]},
               "outputs": {"probe": {"path": "probe.json"}}},
              {**METRICS_STAGE, "container": {"engine": "bwrap"}}]
    cfg = study(tmp_path, stages)
    run(cfg, tmp_path)
    trials, _, states = stored(cfg)
    assert trials[0].status == TrialStatus.COMPLETED, trials[0].error
    probe = states[0]["stages"]["inside"]["jobs"][0]["outputs"]["probe"]
    assert probe["pid"] <= 3  # a PID namespace of its own
    assert probe["cwd"] == str(tmp_path / "work" / "t0" / "a1" / "inside" / "j0")
    assert probe["root_writable"] is False  # read-only /
    assert probe["tmp"] == [tmp_path.parts[2]]  # a private /tmp holding only the bound folder
    assert not Path("/tmp/inside").exists()
    assert (Path(probe["cwd"]) / "probe.json").is_file()  # the trial folder is bound read-write
