"""Geometry edits: a per-trial copy of the detector folder, edited with lxml; bad XPaths are
configuration errors at 'detopt validate'."""

from __future__ import annotations

import pytest
import yaml
from lxml import etree
from pipekit import METRICS_STAGE, cli, run, stored, study, tool

from detopt.errors import ConfigError
from detopt.pipeline.geometry import XmlEdit, check_edits, format_value, prepare_geometry
from detopt.trial import TrialStatus

COMPACT = """<?xml version="1.0" encoding="UTF-8"?>
<!-- a DD4hep-style compact file written for these tests -->
<lccdd>
  <define>
    <constant name="RICH_snout_length" value="20*cm"/>
    <constant name="RICH_zmin" value="180*cm"/>
  </define>
  <detectors>
    <detector id="120" name="RICH" type="test_RICH">
      <mirror name="m1" radius="219.8*cm" centerx="114*cm"/>
      <mirror name="m2" radius="200*cm" centerx="100*cm"/>
      <sensors><sphere radius="110*cm" centerx="155*cm"/></sensors>
      <comment>nominal</comment>
    </detector>
  </detectors>
</lccdd>
"""


@pytest.fixture
def geometry(tmp_path):
    root = tmp_path / "geometry"
    (root / "compact" / "pid").mkdir(parents=True)
    (root / "compact" / "pid" / "rich.xml").write_text(COMPACT)
    (root / "compact" / "main.xml").write_text("<lccdd><include ref='pid/rich.xml'/></lccdd>")
    return root


def edit(xpath, attribute=None, unit="cm", parameter="p"):
    return XmlEdit(parameter, "compact/pid/rich.xml", xpath, attribute, unit, where="problem.parameters[0]")


def attr(path, xpath):
    return etree.parse(str(path)).xpath(xpath)


def test_values_are_written_with_their_units_into_a_copy(geometry, tmp_path):
    edits = [edit("//mirror[@name='m1']", "radius", parameter="r"),
             edit("//constant[@name='RICH_snout_length']", "value", unit="mm", parameter="s"),
             edit("//sphere/@centerx", parameter="cx"),
             edit("//detector/comment", None, unit="", parameter="label")]
    check_edits(geometry, edits)
    target = prepare_geometry(geometry, tmp_path / "t0", edits,
                              {"r": 231.25, "s": 150.0, "cx": 160, "label": "trial 0"})
    rich = target / "compact" / "pid" / "rich.xml"
    assert attr(rich, "//mirror[@name='m1']/@radius") == ["231.25*cm"]
    assert attr(rich, "//mirror[@name='m2']/@radius") == ["200*cm"]  # untouched
    assert attr(rich, "//constant[@name='RICH_snout_length']/@value") == ["150.0*mm"]
    assert attr(rich, "//sphere/@centerx") == ["160*cm"]
    assert attr(rich, "//detector/comment/text()") == ["trial 0"]
    assert "a DD4hep-style compact file" in rich.read_text()  # comments kept
    assert rich.read_text().startswith("<?xml")
    assert (target / "compact" / "main.xml").is_file()
    # the shared source is never modified
    assert (geometry / "compact" / "pid" / "rich.xml").read_text() == COMPACT
    assert format_value(1e-5, "m") == "1e-05*m" and format_value(3, "") == "3"


def test_symlink_mode_copies_only_edited_files(geometry, tmp_path):
    edits = [edit("//mirror[@name='m1']", "radius")]
    target = prepare_geometry(geometry, tmp_path / "t1", edits, {"p": 190.0}, mode="symlink")
    assert (target / "compact" / "main.xml").is_symlink()
    rich = target / "compact" / "pid" / "rich.xml"
    assert not rich.is_symlink() and attr(rich, "//mirror[@name='m1']/@radius") == ["190.0*cm"]
    assert (geometry / "compact" / "pid" / "rich.xml").read_text() == COMPACT


@pytest.mark.parametrize("xpath, attribute, message", [
    ("//mirror[@name='m3']", "radius", "matches nothing"),
    ("//mirror", "radius", "matches 2 nodes"),
    ("//mirror[@name='m1'", "radius", "invalid XPath"),
    ("count(//mirror)", None, "evaluates to a value"),
    ("//mirror[@name='m1']", "thickness", "has no attribute 'thickness'"),
    ("//mirror[@name='m1']/@radius", "centerx", "selects attribute 'radius'"),
])
def test_bad_xpaths_are_config_errors(geometry, xpath, attribute, message):
    with pytest.raises(ConfigError, match=message) as err:
        check_edits(geometry, [edit(xpath, attribute)])
    assert err.value.field.startswith("problem.parameters[0]")


def test_a_file_outside_the_folder_is_refused(geometry):
    with pytest.raises(ConfigError, match="outside the geometry folder"):
        check_edits(geometry, [XmlEdit("p", "../elsewhere.xml", "//a")])
    with pytest.raises(ConfigError, match="no file"):
        check_edits(geometry, [XmlEdit("p", "compact/missing.xml", "//a")])


def parameters(xpath="//mirror[@name='m1']"):
    return [{"name": "x", "low": 0.0, "high": 1.0},
            {"name": "radius", "low": 180.0, "high": 260.0, "unit": "cm",
             "file": "compact/pid/rich.xml", "xpath": xpath, "attribute": "radius"}]


@pytest.mark.parametrize("xpath, message", [("//mirror[@name='m9']", "matches nothing"),
                                            ("//mirror", "matches 2 nodes")])
def test_detopt_validate_exits_2_on_a_bad_xpath(geometry, tmp_path, xpath, message):
    cfg = study(tmp_path, [METRICS_STAGE], parameters=parameters(xpath),
                pipeline={"geometry": {"source": "geometry"}})
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(cfg))
    code, stdout, stderr = cli("validate", str(path))
    assert code == 2, stdout
    assert "problem.parameters[1].xpath" in stderr and message in stderr
    assert "Traceback" not in stderr


def test_each_trial_runs_on_its_own_edited_geometry(geometry, tmp_path):
    stages = [{"name": "look", "command": tool("argv", "{{ geometry.dir }}"),
               "env": {"DETOPT_T": "{{ params.radius }}{{ units.radius }}"},
               "outputs": {"seen": {"path": "argv.json"}}}, METRICS_STAGE]
    cfg = study(tmp_path, stages, parameters=parameters(), trials=2,
                pipeline={"geometry": {"source": "geometry", "export_as": "DETECTOR_PATH"}})
    run(cfg, tmp_path)
    trials, _, states = stored(cfg)
    for i in (0, 1):
        assert trials[i].status == TrialStatus.COMPLETED, trials[i].error
        folder = tmp_path / "work" / f"t{i}" / "a1" / "geometry"
        seen = states[i]["stages"]["look"]["jobs"][0]["outputs"]["seen"]
        assert seen["argv"] == [str(folder)]
        assert seen["env"] == f"{trials[i].params['radius']}cm"
        assert attr(folder / "compact" / "pid" / "rich.xml", "//mirror[@name='m1']/@radius") == \
            [f"{trials[i].params['radius']!r}*cm"]
    assert trials[0].params["radius"] != trials[1].params["radius"]
    assert (geometry / "compact" / "pid" / "rich.xml").read_text() == COMPACT


def test_an_edit_without_a_pipeline_is_refused(tmp_path):
    cfg = study(tmp_path, [METRICS_STAGE], parameters=parameters())
    with pytest.raises(ConfigError, match="no geometry folder"):
        from detopt.config import build_problem, parse_config
        build_problem(parse_config(cfg, base_dir=tmp_path))
