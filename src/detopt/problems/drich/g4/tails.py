"""Why the aerogel N-sigma differs between the fidelities: window tails and decays in flight.

``python -m detopt.problems.drich.g4.tails [TRACKS]`` simulates the two aerogel points of the
nominal design (pi and K, preset pure) with the fast model and with Geant4, then again in Geant4
with decays switched off (``/process/inactivate Decay``), and prints per sample: photons in the
window, the robust core width, the MAE the AID2E metric uses, and the share of window photons
more than 5 mrad from the expected angle (background the core width does not see).
"""

from __future__ import annotations

import json
import sys

import numpy as np

from ..geometry import Design
from ..metrics import aid2e_pair, photon_core_width
from ..model import ETALOW, POINTS, _Samples
from ..presets import get_preset
from ..scan import Sample
from .fidelity import Geant4Simulator


def _row(smp: Sample) -> dict[str, float]:
    ev = smp.event
    th = smp.theta[smp.in_window]
    return {"n_window": float(smp.n_win[ev].mean()),
            "core_mrad": 1e3 * photon_core_width(smp),
            "mae_mrad": 1e3 * float(smp.sum_abs[ev].sum() / smp.n_win[ev].sum()),
            "tail_share": float(np.mean(np.abs(th - smp.theta_exp) > 5e-3))}


def main(tracks: int = 300) -> dict[str, dict[str, dict[str, float]]]:
    design, preset = Design.from_params({}), get_preset("pure")
    fast = _Samples(design, preset, tracks, 12345, True)
    sim = Geant4Simulator(design, preset)
    out: dict[str, dict[str, dict[str, float]]] = {}

    def geant4(pt, sp):  # noqa: ANN001, ANN202
        return sim(design, preset, pt, sp, tracks, 12345, point_id=POINTS.index(pt))

    for tag, get in (("fast", fast.get), ("geant4", geant4), ("geant4, no decays", geant4)):
        if tag == "geant4, no decays":
            sim.session.g4.G4UImanager.GetUIpointer().ApplyCommand("/process/inactivate Decay")
        for pt in ETALOW:
            a, b = get(pt, "pi"), get(pt, "K")
            pair = aid2e_pair(a, b, n_boot=200, seed=1)
            out[f"{tag} {pt.label}"] = {"pi": _row(a), "K": _row(b),
                                        "nsigma": [pair.nsigma, pair.nsigma_sem]}
    return out

if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300), indent=1))
