"""The geant4 extra: data-free environment in the process, and the error without the extra."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from detopt.errors import ConfigError


def test_missing_extra_is_a_one_line_config_error(monkeypatch):
    """A monkeypatched import failure stands in for an environment without the extra."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "geant4_pybind" else real(name, *a))
    from detopt.problems.registry import build_problem

    with pytest.raises(ConfigError) as err:
        build_problem("drich", {"fidelity": "geant4"})
    text = str(err.value)
    assert err.value.field == "problem.options.fidelity"
    assert "geant4-pybind==0.1.3" in text and "pip install 'detopt[geant4]'" in text
    assert "\n" not in text
    build_problem("drich", {"fidelity": "fast"})  # the fast fidelity does not need it

    from detopt.cli import app

    result = CliRunner().invoke(app, ["drich", "simulate", "--fidelity", "geant4",
                                      "--objectives", "x.json"])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) <= 2 and "detopt[geant4]" in result.output  # rich may wrap the line
    assert "Traceback" not in result.output


def test_importing_detopt_does_not_import_geant4():
    code = ("import sys, detopt, detopt.problems.drich, detopt.problems.drich.g4, detopt.cli; "
            "print('geant4_pybind' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(importlib.util.find_spec("geant4_pybind") is None,
                    reason="needs the geant4 extra (CI installs it)")
def test_geant4_imports_with_ci_true_and_no_data(tmp_path):
    """With CI=true and nothing set, geant4-pybind would try to download 2 GB; detopt's own
    environment setup (in the importing process) prevents that."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("G4", "GEANT4")) and k != "DETOPT_GEANT4_DATA_STUB"}
    env.update(CI="true", HOME=str(tmp_path), DETOPT_GEANT4_DATA_STUB=str(tmp_path / "stub"))
    code = ("from detopt.problems.drich.g4.env import import_geant4; g4 = import_geant4(); "
            "g4.G4DecayPhysics(); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         stdin=subprocess.DEVNULL, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
    assert (tmp_path / "stub" / "ENSDFSTATE" / "ENSDFSTATE.dat").exists()
    assert not (tmp_path / ".geant4_pybind").exists()  # nothing was downloaded
