"""Public entry points: objectives and ``evaluate`` (one design -> {metric: (mean, sem)}).

Common random numbers: every random number is a hash of (seed, scan point, track, photon, purpose)
and does not depend on the design or on which objectives are requested, so one seed gives a
smooth objective surface. The particle species of a pair share their random numbers too
(``paired_species``), which makes the separation much less noisy; the bootstrap then resamples
tracks jointly for both species.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from detopt.errors import DetoptError, InfeasibleDesignError

from . import metrics, reach
from .constraints import CONSTRAINTS, constraint_margins
from .geometry import Design
from .presets import Preset, get_preset
from .scan import AEROGEL, GAS, MASSES, Sample, ScanPoint, simulate

ETA_BINS = ((1.5, 2.0), (2.0, 2.5), (2.5, 3.0), (3.0, 3.5))
#: every point the model can simulate, with a fixed id (the id keys the random numbers)
POINTS: tuple[ScanPoint, ...] = tuple(ScanPoint(15.0, e, AEROGEL) for e in ETA_BINS) + tuple(
    ScanPoint(45.0, e, GAS) for e in ETA_BINS)
ETALOW = (POINTS[0], POINTS[1])  # aerogel, 15 GeV/c, eta 1.5-2.0 and 2.0-2.5
ETAHIGH = (POINTS[6], POINTS[7])  # gas, 45 GeV/c, eta 2.5-3.0 and 3.0-3.5
ACCEPTANCE = (POINTS[1], POINTS[6], POINTS[7])  # AID2E: scan points [1:]


def _objective(threshold: float, description: str, default: bool = False, unit: str = ""
               ) -> dict[str, Any]:
    return {"direction": "maximize", "threshold": threshold, "default": default, "unit": unit,
            "description": description}


#: objective name -> direction, threshold (reference point), default?, unit, description. The
#: AID2E thresholds are 90 % of the nominal dRICH; for the optional objectives we use the same
#: convention on this model's aid2e_calibrated nominal values.
_REACH = "3-sigma {} momentum reach of the {}, mean over eta 1.5-3.5 (semi-analytic)"
OBJECTIVES: dict[str, dict[str, Any]] = {
    "piKsep_etalow": _objective(
        3.62, "AID2E pi/K N-sigma, aerogel, 15 GeV/c, mean of eta 1.5-2.0 and 2.0-2.5", True),
    "piKsep_etahigh": _objective(
        4.04, "AID2E pi/K N-sigma, gas, 45 GeV/c, mean of eta 2.5-3.0 and 3.0-3.5", True),
    "acceptance": _objective(
        0.80, "AID2E acceptance (N > 5 in the window), mean of the last three scan points", True),
    "kp_sep_etalow": _objective(10.2, "AID2E-style K/p N-sigma, two aerogel points (15 GeV/c)"),
    "kp_sep_etahigh": _objective(11.8, "AID2E-style K/p N-sigma, two gas points (45 GeV/c)"),
    "piKsep_track_etalow": _objective(3.0, "per-track physics pi/K N-sigma, two aerogel points"),
    "piKsep_track_etahigh": _objective(3.0, "per-track physics pi/K N-sigma, two gas points"),
    "pik_reach_aerogel": _objective(13.7, _REACH.format("pi/K", "aerogel"), unit="GeV/c"),
    "pik_reach_gas": _objective(39.0, _REACH.format("pi/K", "gas"), unit="GeV/c"),
    "kp_reach_aerogel": _objective(23.0, _REACH.format("K/p", "aerogel"), unit="GeV/c"),
    "kp_reach_gas": _objective(65.7, _REACH.format("K/p", "gas"), unit="GeV/c"),
}
DEFAULT_OBJECTIVES: tuple[str, ...] = tuple(k for k, v in OBJECTIVES.items() if v["default"])
N_BOOT = 200
N_BOOT_REACH = 50


class _Samples:
    """Lazy cache of simulated samples of one evaluation, keyed by (point, species)."""

    def __init__(self, design: Design, preset: Preset, n: int, seed: int, paired: bool,
                 simulator: Callable[..., Sample] = simulate):
        self.design, self.preset, self.n, self.seed, self.paired = design, preset, n, seed, paired
        self.simulator = simulator  #: the fast trace, or the Geant4 fidelity's (same signature)
        self._cache: dict[tuple[ScanPoint, str], Sample] = {}

    def get(self, point: ScanPoint, species: str) -> Sample:
        key = (point, species)
        if key not in self._cache:
            self._cache[key] = self.simulator(self.design, self.preset, point, species, self.n,
                                              self.seed, point_id=POINTS.index(point),
                                              paired=self.paired)
        return self._cache[key]

    @property
    def samples(self) -> dict[tuple[ScanPoint, str], Sample]:
        """Every sample simulated so far."""
        return dict(self._cache)


def _mean_sem(values: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Mean of independent estimates and its propagated standard error."""
    means = np.array([v[0] for v in values])
    sems = np.array([v[1] for v in values])
    return float(means.mean()), float(np.sqrt(np.sum(sems**2)) / len(values))


def _pair(samples: _Samples, point: ScanPoint, a: str, b: str, n_boot: int, seed: int
          ) -> metrics.PairMetric:
    return metrics.aid2e_pair(samples.get(point, a), samples.get(point, b), n_boot=n_boot,
                              seed=seed * 1000 + POINTS.index(point), paired=samples.paired)


def _track_nsigma(samples: _Samples, point: ScanPoint, n_boot: int, seed: int
                  ) -> tuple[float, float]:
    a, b = samples.get(point, "pi"), samples.get(point, "K")
    value = metrics.per_track_nsigma(a, b)
    if not n_boot:
        return value, 0.0
    rng = np.random.default_rng([seed, POINTS.index(point), 0x7AC])
    w = metrics.bootstrap_weights(rng, len(a.n_win), n_boot)
    reps = []
    for smp in (a, b):
        sel = smp.event & (smp.n_win >= 3)
        means = smp.sum_theta[sel] / smp.n_win[sel]
        reps.append(metrics.robust_center_width(means, w[:, sel]))
    (ca, wa), (cb, wb) = reps
    return value, float(np.nanstd(np.abs(ca - cb) / (0.5 * (wa + wb))))


def _reach(samples: _Samples, radiator: int, pair: tuple[str, str], n_boot: int, seed: int
           ) -> tuple[float, float]:
    """Mean 3-sigma reach over the four eta bins of one radiator (semi-analytic mode)."""
    values = []
    for point in (p for p in POINTS if p.radiator == radiator):
        smp = samples.get(point, "pi")
        value = float(reach.reach(reach.response(smp), MASSES[pair[0]], MASSES[pair[1]])[0])
        sem = 0.0
        if n_boot:
            rng = np.random.default_rng([seed, POINTS.index(point), 0x3EAC])
            w = metrics.bootstrap_weights(rng, len(smp.n_win), n_boot)
            reps = reach.reach(reach.response(smp, w), MASSES[pair[0]], MASSES[pair[1]])
            sem = float(np.std(reps))
        values.append((value, sem))
    return _mean_sem(values)


def _check_choice(value: str, allowed: Sequence[str], field: str) -> None:
    if value not in allowed:
        raise DetoptError(f"unknown value '{value}'.", field=field,
                          fix=f"use one of {list(allowed)}.")


def evaluate(params: Mapping[str, float] | None = None, *,
             preset: str | Preset = "aid2e_calibrated", tracks_per_point: int = 1000,
             seed: int = 12345, objectives: Sequence[str] | None = None, sem: str = "bootstrap",
             constraints: str = "fail", paired_species: bool = True,
             ) -> dict[str, tuple[float, float]]:
    """Evaluate one dRICH design: ``{metric: (mean, sem)}``.

    Args:
        params: design parameters (see PARAMETERS); missing ones take NOMINAL.
        preset: "aid2e_calibrated" (default), "pure", or a Preset.
        tracks_per_point: tracks per species and scan point (AID2E: npart); the default AID2E
            objectives simulate 4 points x 2 species = 8 x this many tracks.
        seed: random seed; the same seed gives the same random numbers for every design.
        objectives: names from OBJECTIVES (default: the three AID2E objectives).
        sem: "bootstrap" (resample tracks, as AID2E) or "none" (sem = 0).
        constraints: "fail" raises InfeasibleDesignError before any tracing if a margin is < 0;
            "outcome" adds every margin as ``margin_<name>: (value, 0.0)`` and never raises;
            "ignore" skips the check.
        paired_species: share random numbers between the species of a pair (variance reduction).

    Raises:
        DetoptError: unknown parameter, preset, objective or option.
        InfeasibleDesignError: a constraint is violated and ``constraints == "fail"``.
    """
    _check_choice(sem, ("bootstrap", "none"), "sem")
    _check_choice(constraints, ("fail", "outcome", "ignore"), "constraints")
    names = list(DEFAULT_OBJECTIVES if objectives is None else objectives)
    for name in names:
        _check_choice(name, list(OBJECTIVES), "objectives")
    if int(tracks_per_point) < 10:
        raise DetoptError(f"tracks_per_point={tracks_per_point} is too small.",
                          field="tracks_per_point", fix="use at least 10 (AID2E uses 1000-3000).")
    design = Design.from_params(params)
    preset_obj = get_preset(preset)
    result = apply_constraints(params, constraints)

    samples = _Samples(design, preset_obj, int(tracks_per_point), int(seed), paired_species)
    result.update(compute_objectives(samples, names, sem, int(seed)))
    return result


def apply_constraints(params: Mapping[str, float], constraints: str
                      ) -> dict[str, tuple[float, float]]:
    """The overlap proxies as the evaluation applies them: ``fail`` raises
    :class:`InfeasibleDesignError` naming the worst violated one, ``outcome`` returns the
    margins as metrics ``margin_<name>``, ``ignore`` does nothing."""
    if constraints == "ignore":
        return {}
    margins = constraint_margins(params)
    if constraints == "fail":
        worst = min(margins, key=margins.get)
        if margins[worst] < 0:
            raise InfeasibleDesignError(worst, margins[worst], CONSTRAINTS[worst])
        return {}
    return {f"margin_{k}": (v, 0.0) for k, v in margins.items()}


def check_names(objectives: Sequence[str] | None) -> list[str]:
    """Objective names (default: AID2E's three), validated."""
    names = list(DEFAULT_OBJECTIVES if objectives is None else objectives)
    for name in names:
        _check_choice(name, list(OBJECTIVES), "objectives")
    return names


def compute_objectives(samples: _Samples, names: Sequence[str], sem: str, seed: int
                       ) -> dict[str, tuple[float, float]]:
    """The objectives ``names`` from lazily simulated samples (shared by both fidelities)."""
    result: dict[str, tuple[float, float]] = {}
    n_boot = N_BOOT if sem == "bootstrap" else 0
    n_boot_reach = N_BOOT_REACH if sem == "bootstrap" else 0
    pairs: dict[tuple[ScanPoint, str], metrics.PairMetric] = {}

    def pik(pt: ScanPoint) -> metrics.PairMetric:
        if (pt, "piK") not in pairs:
            pairs[(pt, "piK")] = _pair(samples, pt, "pi", "K", n_boot, seed)
        return pairs[(pt, "piK")]

    def kp(pt: ScanPoint) -> metrics.PairMetric:
        if (pt, "Kp") not in pairs:
            pairs[(pt, "Kp")] = _pair(samples, pt, "K", "p", n_boot, seed)
        return pairs[(pt, "Kp")]

    for name in names:
        if name == "piKsep_etalow":
            result[name] = _mean_sem([(m.nsigma, m.nsigma_sem) for m in map(pik, ETALOW)])
        elif name == "piKsep_etahigh":
            result[name] = _mean_sem([(m.nsigma, m.nsigma_sem) for m in map(pik, ETAHIGH)])
        elif name == "acceptance":
            result[name] = _mean_sem([(m.acceptance, m.acceptance_sem)
                                      for m in map(pik, ACCEPTANCE)])
        elif name == "kp_sep_etalow":
            result[name] = _mean_sem([(m.nsigma, m.nsigma_sem) for m in map(kp, ETALOW)])
        elif name == "kp_sep_etahigh":
            result[name] = _mean_sem([(m.nsigma, m.nsigma_sem) for m in map(kp, ETAHIGH)])
        elif name.startswith("piKsep_track_"):
            pts = ETALOW if name.endswith("etalow") else ETAHIGH
            result[name] = _mean_sem([_track_nsigma(samples, pt, n_boot, seed) for pt in pts])
        elif name.endswith(("_reach_aerogel", "_reach_gas")):
            radiator = AEROGEL if name.endswith("aerogel") else GAS
            pair = ("pi", "K") if name.startswith("pik") else ("K", "p")
            result[name] = _reach(samples, radiator, pair, n_boot_reach, seed)
    return result
