"""The dRICH simulation chain as separate programs, for the pipeline example (study.yaml).

Each step is what one pipeline stage runs, reading the trial's edited compact XML:

    python drich_steps.py overlaps --compact geometry/compact/drich.xml
    python drich_steps.py simulate --compact ... --point 1 --species pi --tracks 1000 --out sim.root
    python drich_steps.py analyse --out metrics.json sim_1.root sim_2.root ...

``overlaps`` stands in for DD4hep's checkOverlaps: it prints the same summary line, counting
the violated geometric constraints of detopt's fast model. ``simulate`` runs the fast model's
ray trace and reconstruction for one scan point and one particle species and writes the
per-track sums to a ROOT file (uproot). ``analyse`` computes AID2E's objectives from those
files, exactly as ``detopt.problems.drich.evaluate`` does in one process (the example's test
checks that the two agree). A full Geant4 simulation step can replace ``simulate`` without
changing the other stages.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

#: the fast model's parameters, where the compact file keeps them (XPath, attribute)
PARAMETERS = {
    "mirror_radius": ("//mirror[@name='DRICH_mirror']", "radius"),
    "mirror_centerx": ("//mirror[@name='DRICH_mirror']", "centerx"),
    "sensor_radius": ("//sensors/sphere", "radius"),
    "sensor_centerx": ("//sensors/sphere", "centerx"),
    "sensor_dz": ("//sensors/sphere", "dz"),
    "snout_length": ("//constant[@name='DRICH_snout_length']", "value"),
    "aerogel_thickness": ("//constant[@name='DRICH_aerogel_thickness']", "value"),
}
_UNITS_CM = {"mm": 0.1, "cm": 1.0, "m": 100.0}
SPECIES = {"pi": 0, "K": 1}


def read_compact(path: str | Path) -> dict[str, float]:
    """The fast model's parameters (cm) from a compact file; values are ``number[*unit]``."""
    from lxml import etree

    tree = etree.parse(str(path))
    params = {}
    for name, (xpath, attribute) in PARAMETERS.items():
        (node,) = tree.xpath(xpath)
        text = node.get(attribute).replace(" ", "")
        match = re.fullmatch(r"([-+0-9.eE]+)(?:\*(mm|cm|m))?", text)
        if match is None:
            raise SystemExit(f"{path}: {name} = {text!r} is not 'number*unit' (mm, cm, m)")
        params[name] = float(match[1]) * _UNITS_CM[match[2] or "cm"]
    return params


def overlaps(args: argparse.Namespace) -> int:
    from detopt.problems.drich import CONSTRAINTS, constraint_margins

    margins = constraint_margins(read_compact(args.compact))
    bad = {k: v for k, v in margins.items() if v < 0}
    for name, margin in sorted(bad.items()):
        print(f"Overlap: {name}: {CONSTRAINTS[name]} (margin {margin:.2f} cm)")
    print(f"Number of illegal overlaps/extrusions : {len(bad)}")
    return 0


def simulate(args: argparse.Namespace) -> int:
    import uproot

    from detopt.problems.drich import POINTS, get_preset
    from detopt.problems.drich.geometry import Design
    from detopt.problems.drich.scan import simulate as trace

    design = Design.from_params(read_compact(args.compact))
    sample = trace(design, get_preset(args.preset), POINTS[args.point], args.species, args.tracks,
                   args.seed, point_id=args.point, paired=True)
    with uproot.recreate(args.out) as f:
        f["tracks"] = {"event": sample.event.astype(np.int8), "n_win": sample.n_win,
                       "sum_theta": sample.sum_theta, "sum_abs": sample.sum_abs}
        f["meta"] = {"point": np.array([args.point], dtype=np.int32),
                     "species": np.array([SPECIES[args.species]], dtype=np.int32),
                     "seed": np.array([args.seed], dtype=np.int64)}
    print(f"{args.species} at point {args.point}: {int(sample.event.sum())} tracks with a PID "
          f"object, {sample.n_win.mean():.2f} photons in the window per track -> {args.out}")
    return 0


def _read(path: str) -> tuple[int, str, int, SimpleNamespace]:
    import uproot

    names = {v: k for k, v in SPECIES.items()}
    with uproot.open(path) as f:
        meta = f["meta"].arrays(library="np")
        t = f["tracks"].arrays(library="np")
    sample = SimpleNamespace(event=t["event"].astype(bool), n_win=t["n_win"],
                             sum_theta=t["sum_theta"], sum_abs=t["sum_abs"])
    return int(meta["point"][0]), names[int(meta["species"][0])], int(meta["seed"][0]), sample


def analyse(args: argparse.Namespace) -> int:
    from detopt.problems.drich import POINTS
    from detopt.problems.drich.metrics import aid2e_pair
    from detopt.problems.drich.model import ACCEPTANCE, ETAHIGH, ETALOW, N_BOOT, _mean_sem

    samples, seeds = {}, set()
    for path in args.inputs:
        point, species, seed, sample = _read(path)
        samples[(point, species)] = sample
        seeds.add(seed)
    if len(seeds) != 1:
        raise SystemExit(f"the inputs come from different seeds: {sorted(seeds)}")
    seed = seeds.pop()

    def pik(point):
        i = POINTS.index(point)
        missing = [s for s in SPECIES if (i, s) not in samples]
        if missing:
            raise SystemExit(f"no {missing[0]} sample for scan point {i} among the inputs")
        return aid2e_pair(samples[(i, "pi")], samples[(i, "K")], n_boot=N_BOOT,
                          seed=seed * 1000 + i, paired=True)

    result = {
        "piKsep_etalow": _mean_sem([(m.nsigma, m.nsigma_sem) for m in map(pik, ETALOW)]),
        "piKsep_etahigh": _mean_sem([(m.nsigma, m.nsigma_sem) for m in map(pik, ETAHIGH)]),
        "acceptance": _mean_sem([(m.acceptance, m.acceptance_sem) for m in map(pik, ACCEPTANCE)]),
    }
    Path(args.out).write_text(json.dumps(result, indent=1))
    for name, (mean, sem) in result.items():
        print(f"{name} = {mean:.4f} +- {sem:.4f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    p = steps.add_parser("overlaps", help="check the geometry (checkOverlaps-style summary)")
    p.add_argument("--compact", required=True)
    p = steps.add_parser("simulate", help="one scan point x one species -> ROOT file")
    p.add_argument("--compact", required=True)
    p.add_argument("--point", type=int, required=True, help="index into drich.POINTS")
    p.add_argument("--species", choices=sorted(SPECIES), required=True)
    p.add_argument("--tracks", type=int, default=1000)
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--preset", default="aid2e_calibrated")
    p.add_argument("--out", required=True)
    p = steps.add_parser("analyse", help="ROOT files of all jobs -> AID2E objectives (JSON)")
    p.add_argument("--out", required=True)
    p.add_argument("inputs", nargs="+")
    args = parser.parse_args(argv)
    return {"overlaps": overlaps, "simulate": simulate, "analyse": analyse}[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
