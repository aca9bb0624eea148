"""Per-trial timing and hypervolume from closure-2 study databases (also for runs cut short).

    python benchmarks/closure2_from_db.py RUNNER=DB [RUNNER=DB ...] > benchmarks/results/panda/partial.json

For each database: completed trials, trials per minute of wall time, the mean and median time
from a trial's start (submission) to its stored result, and the hypervolume of the completed
trials (reference point 1.1). Proposing time is not in the database (see closure2_panda.py).
"""

from __future__ import annotations

import json
import sqlite3
import sys

import moocore
import numpy as np


def summarize(db: str) -> dict:
    c = sqlite3.connect(db)
    rows = c.execute("select status, metrics, created_at, started_at, finished_at from detopt_trials").fetchall()
    done = [r for r in rows if r[0] == "completed"]
    walls = [r[4] - r[3] for r in done]
    first = min(r[2] for r in rows)
    last = max(r[4] for r in done) if done else first
    ys = np.array([[json.loads(r[1])[f"f{i}"][0] for i in (1, 2, 3)] for r in done]) if done else np.zeros((0, 3))
    ref = np.full(3, 1.1)
    inside = ys[np.all(ys < ref, axis=1)] if len(ys) else ys
    return {"completed": len(done), "not_finished": len(rows) - len(done),
            "trials_per_min": 60 * len(done) / max(1e-9, last - first),
            "trial_wall_mean_s": float(np.mean(walls)) if walls else None,
            "trial_wall_median_s": float(np.median(walls)) if walls else None,
            "hypervolume": float(moocore.hypervolume(inside, ref=ref)) if len(inside) else 0.0}


if __name__ == "__main__":
    out = {}
    for arg in sys.argv[1:]:
        name, _, db = arg.partition("=")
        out[name] = summarize(db)
    print(json.dumps(out, indent=1))
