"""Templates: sandboxed, strict about names, one template = one argument, never a shell."""

from __future__ import annotations

import json

import pytest
import yaml
from pipekit import METRICS_STAGE, cli, run, stored, study, tool

import detopt
from detopt.config import validate as validate_config
from detopt.errors import ConfigError
from detopt.pipeline.templates import Argument, EachArguments, TemplateRenderError, Value
from detopt.trial import TrialStatus


def build(cfg, tmp_path):
    return validate_config(detopt.parse_config(cfg, base_dir=tmp_path))


def test_an_unknown_name_is_a_config_error_before_any_trial(tmp_path):
    stages = [{"name": "sim", "command": tool("argv", "{{ params.x }}", "{{ parms.x }}")},
              METRICS_STAGE]
    with pytest.raises(ConfigError) as err:
        build(study(tmp_path, stages), tmp_path)
    assert err.value.field == "problem.pipeline.stages[0].command[4]"
    assert "parms" in err.value.message and "unknown name" in err.value.message
    # an attribute that is not there (a misspelt parameter), a payload key, an output
    for bad in ("{{ params.y }}", "{{ payload.nope }}", "{{ stages.evaluate.outputs.x }}",
                "{{ stages.sim.outputs.nothing }}"):
        stages = [{"name": "sim", "command": tool("argv", "a"), "outputs": {"a": {"path": "a.json"}}},
                  {**METRICS_STAGE, "env": {"V": bad}}]
        with pytest.raises(ConfigError, match="stages\\[1\\].env.V"):
            build(study(tmp_path, stages), tmp_path)
    # nothing was stored: the study never started
    assert not list(tmp_path.glob("*.db"))


def test_detopt_validate_exits_2_on_an_unknown_name(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study(tmp_path, [{**METRICS_STAGE, "command": tool(
        "metrics", "{{ trial.number }}")}])))
    code, stdout, stderr = cli("validate", str(path))
    assert code == 2
    assert "stages[0].command[3]" in stderr and "number" in stderr
    assert "Traceback" not in stderr


def test_the_sandbox_refuses_python_internals():
    for source in ("{{ params.__class__ }}", "{{ ''.__class__.__mro__ }}",
                   "{{ lipsum.__globals__ }}"):
        with pytest.raises(TemplateRenderError, match="unsafe"):
            Argument(source, "f").render({"params": {"x": 1}})


def test_values_keep_their_type_only_as_a_lone_expression():
    value = Value({"p": "{{ params }}", "x": "{{ params.x }}", "text": "x={{ params.x }}",
                   "n": 3, "list": ["{{ job.index }}", "a"]}, "kwargs")
    out = value.render({"params": {"x": 0.25}, "job": {"index": 2}})
    assert out == {"p": {"x": 0.25}, "x": 0.25, "text": "x=0.25", "n": 3, "list": [2, "a"]}


def test_each_gives_one_argument_per_element():
    each = EachArguments("files", "--in={{ item }}", "cmd[0]")
    assert each.render({"files": ["a b.root", "c;d.root"]}) == ["--in=a b.root", "--in=c;d.root"]
    with pytest.raises(TemplateRenderError, match="not a list"):
        each.render({"files": "a.root"})


NASTY = """a b "c" 'd'; touch {pwned} && echo $(touch {pwned}) `touch {pwned}` | cat > {pwned} \\ \n x"""


def test_a_value_with_spaces_quotes_and_semicolons_stays_one_argument(tmp_path):
    """A choice value full of shell syntax arrives as one argument, in the command, in the
    environment and in a sourced setup script's arguments; nothing is ever executed."""
    pwned = tmp_path / "pwned"
    nasty = NASTY.format(pwned=pwned)
    setup = tmp_path / "setup.sh"
    setup.write_text('export DETOPT_T="setup saw: $1"\n')
    stages = [
        {"name": "echo", "command": tool("argv", "{{ params.label }}", "--x={{ params.x }}",
                                         "{{ params.label }}{{ params.label }}"),
         "env": {"DETOPT_T": "{{ params.label }}"}, "outputs": {"seen": {"path": "argv.json"}}},
        {"name": "setup", "command": tool("argv", "{{ params.label }}"),
         "setup": {"script": str(setup), "args": ["{{ params.label }}"]},
         "outputs": {"seen": {"path": "argv.json"}}},
        METRICS_STAGE,
    ]
    parameters = [{"name": "x", "low": 0.0, "high": 1.0},
                  {"name": "label", "type": "choice", "values": [nasty, "e f " + nasty]}]
    cfg = study(tmp_path, stages, parameters=parameters)
    s, _ = run(cfg, tmp_path)
    trials, _, states = stored(cfg)
    assert trials[0].status == TrialStatus.COMPLETED, trials[0].error
    x, nasty = trials[0].params["x"], trials[0].params["label"]
    seen = states[0]["stages"]["echo"]["jobs"][0]["outputs"]["seen"]
    assert seen == {"argv": [nasty, f"--x={x}", nasty + nasty], "env": nasty}
    seen = states[0]["stages"]["setup"]["jobs"][0]["outputs"]["seen"]
    assert seen == {"argv": [nasty], "env": f"setup saw: {nasty}"}
    assert not pwned.exists()
    argv_file = tmp_path / "work" / "t0" / "a1" / "echo" / "j0" / "argv.json"
    assert json.loads(argv_file.read_text())["argv"][0] == nasty
