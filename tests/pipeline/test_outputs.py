"""Declared outputs: JSON, YAML, CSV, ROOT (written by uproot here), text; clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import uproot
import yaml

from detopt.errors import InvalidResultError
from detopt.pipeline.outputs import read_output


def read(path, **spec):
    return read_output("out", path, {"path": str(path), **spec})


def test_json_and_yaml_by_dotted_key(tmp_path):
    doc = {"piKsep": {"mean": 3.9, "sem": 0.1}, "points": [{"acc": 0.8}, {"acc": 0.9}]}
    (tmp_path / "r.json").write_text(json.dumps(doc))
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(doc))
    for name in ("r.json", "r.yaml"):
        assert read(tmp_path / name, key="piKsep.mean") == 3.9
        assert read(tmp_path / name, key="points.1.acc") == 0.9
        assert read(tmp_path / name) == doc
    with pytest.raises(InvalidResultError) as err:
        read(tmp_path / "r.json", key="piKsep.median")
    message = str(err.value)
    assert "r.json" in message and "'piKsep.median'" in message and "mean, sem" in message


def test_csv_columns_and_reductions(tmp_path):
    (tmp_path / "t.csv").write_text("p,acc,label\n15,0.80,a\n45,0.90,b\n")
    assert read(tmp_path / "t.csv", key="acc") == [0.8, 0.9]
    assert read(tmp_path / "t.csv", key="acc", reduce="mean") == pytest.approx(0.85)
    assert read(tmp_path / "t.csv", key="p", reduce="max") == 45
    assert read(tmp_path / "t.csv", key="p", reduce="count") == 2
    with pytest.raises(InvalidResultError, match="column 'label', row 1: 'a' is not a number"):
        read(tmp_path / "t.csv", key="label")
    with pytest.raises(InvalidResultError, match="column 'eff' not found"):
        read(tmp_path / "t.csv", key="eff")


def test_root_trees_written_by_uproot(tmp_path):
    path = tmp_path / "sim.root"
    n_photons = np.array([12.0, 15.0, 0.0, 21.0])
    with uproot.recreate(path) as f:
        f["tracks"] = {"n_photons": n_photons, "theta": np.array([0.18, 0.19, 0.0, 0.185])}
        f["hist"] = np.histogram([1.0, 2.0, 2.5], bins=[0, 1, 2, 3])
    assert read(path, tree="tracks", branch="n_photons") == n_photons.tolist()
    assert read(path, key="tracks/n_photons", reduce="mean") == pytest.approx(12.0)
    assert read(path, key="tracks/theta", reduce="count") == 4
    assert read(path, key="hist") == [0.0, 1.0, 2.0]
    with pytest.raises(InvalidResultError) as err:
        read(path, tree="tracks", branch="n_hits")
    assert "sim.root" in str(err.value) and "no branch 'n_hits'" in str(err.value)
    assert "n_photons" in str(err.value)
    with pytest.raises(InvalidResultError, match="no object 'events'"):
        read(path, tree="events", branch="x")


def test_text_patterns_paths_and_missing_files(tmp_path):
    (tmp_path / "ana.txt").write_text("# mean_acc sd_acc mean_sep sd_sep\n0.83 0.01 3.95 0.12\n")
    assert read(tmp_path / "ana.txt", pattern=r"^\S+ \S+ (\S+) \S+$") == 3.95
    assert read(tmp_path / "ana.txt", format="path") == str(tmp_path / "ana.txt")
    with pytest.raises(InvalidResultError, match="pattern .* not found"):
        read(tmp_path / "ana.txt", pattern="overlaps: (\\d+)")
    with pytest.raises(InvalidResultError, match="missing.json.*does not exist"):
        read(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InvalidResultError, match="bad.json.*cannot read it as json"):
        read(tmp_path / "bad.json")
    big = tmp_path / "big.json"
    big.write_text(json.dumps(list(range(20_000))))
    with pytest.raises(InvalidResultError, match="20000 values; reduce them"):
        read(big)
    assert read(big, reduce="sum") == sum(range(20_000))
