"""The Geant4 dRICH geometry and Geant4's own overlap check (geometry only, in this process)."""

from __future__ import annotations

import importlib.util

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("geant4_pybind") is None,
                                reason="needs the geant4 extra (the test extra installs it)")

from detopt.problems.drich.g4.env import import_geant4
from detopt.problems.drich.geometry import Design
from detopt.problems.drich.presets import get_preset
from detopt.problems.drich.scan import make_optics


def _volumes(params):
    from detopt.problems.drich.g4.detector import DrichVolumes

    g4 = import_geant4()
    design = Design.from_params(params)
    return DrichVolumes(g4, design, make_optics(design, get_preset("pure")))


def test_nominal_geometry_builds_with_six_sectors_and_passes_the_overlap_check():
    from detopt.problems.drich.g4.detector import check_overlaps

    volumes = _volumes({})
    names = [pv.GetName() for pv in volumes.placements]
    assert names[:4] == ["gas", "aerogel", "air_gap", "filter"]
    assert {f"mirror_{k}" for k in range(6)} <= set(names)
    assert {f"pdu_{k}" for k in range(6)} <= set(names) and "sensor" in names
    assert check_overlaps(volumes) == []


def test_short_snout_fails_naming_the_volumes():
    """snout_length = 10 cm: the PDU services poke out of the snout (proxy: -7.35 cm)."""
    from detopt.problems.drich.g4.detector import check_overlaps

    overlaps = check_overlaps(_volumes({"snout_length": 10.0}))
    assert overlaps, "an overlapping design passed Geant4's check"
    assert {o.volume for o in overlaps} <= {f"pdu_{k}" for k in range(6)}
    assert {o.other for o in overlaps} == {"gas"}
    assert all(o.kind == "extrusion" and 3.0 < o.depth_cm < 12.0 for o in overlaps)
    assert "pdu_" in str(overlaps[0]) and "sticks out of its mother gas" in str(overlaps[0])


def test_optical_tables_are_the_fast_models():
    """One source: the Geant4 RINDEX/EFFICIENCY tables are the fast model's functions."""
    import numpy as np

    from detopt.problems.drich import optics
    from detopt.problems.drich.g4.materials import energy_grid, refractive_indices

    opt = make_optics(Design.from_params({}), get_preset("pure"))
    energy = energy_grid(opt)
    lam = optics.wavelength_nm(energy)
    index = refractive_indices(opt)
    assert np.allclose(index["aerogel"], optics.aerogel_index(lam, 1.0193))
    assert np.allclose(index["gas"], optics.gas_index(lam))
    # the table spans the PDE support, so no detectable photon is left out of generation
    assert optics.pde(lam[[0, -1]]).tolist() == [0.0, 0.0] and optics.pde(lam).max() > 0.3
    # the fast model's folded efficiency = sensor surface x mirror x filter, exactly
    folded = opt.efficiency(lam, "gas")
    assert np.allclose(folded, optics.sensor_efficiency(lam) * optics.MIRROR_REFLECTIVITY)
