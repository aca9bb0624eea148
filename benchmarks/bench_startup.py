"""Start-up cost of the CLI: ``detopt status`` on a finished mobo study and ``detopt --help``,
against ``python -c pass``, in one run (interleaved, so machine load hits all three alike).

    .venv/bin/python benchmarks/bench_startup.py --repeats 15 --out benchmarks/results/startup.json

Target (issue 9): ``status`` under 0.5 s more than bare Python. The script also reports which
heavy modules a read-only command imported (torch, botorch, scipy.stats, pandas: none should be).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STUDY = """name: startup
problem: {builtin: dtlz2, options: {n_objectives: 3, n_variables: 6}}
optimizer: {name: mobo, seed: 0, options: {n_initial: 6}}
runner: {kind: inline}
study: {max_trials: 12}
"""
HEAVY = ("torch", "botorch", "gpytorch", "scipy.stats", "scipy.optimize", "pandas", "pymoo")


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    python = sys.executable
    detopt = [python, "-m", "detopt"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "s.yaml").write_text(STUDY)
        subprocess.run(detopt + ["run", "s.yaml", "--no-progress", "--no-report"], cwd=work,
                       check=True, stdout=subprocess.DEVNULL)
        db = str(work / "runs" / "startup.db")
        commands = {"python -c pass": [python, "-c", "pass"],
                    "detopt --help": detopt + ["--help"],
                    "detopt status": detopt + ["status", db]}
        times: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(args.repeats):
            for name, cmd in commands.items():
                times[name].append(timed(cmd, work))
        probe = ("import sys; from detopt.cli import app\n"
                 f"try:\n    app(['status', {db!r}])\nexcept SystemExit:\n    pass\n"
                 f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
        imported = subprocess.run([python, "-c", probe], cwd=work, capture_output=True,
                                  text=True, check=True).stdout.strip().splitlines()[-1]
    medians = {k: statistics.median(v) for k, v in times.items()}
    base = medians["python -c pass"]
    result = {
        "repeats": args.repeats, "load_average": os.getloadavg(), "python": platform.python_version(),
        "median_seconds": medians,
        "over_bare_python_seconds": {k: v - base for k, v in medians.items() if k != "python -c pass"},
        "heavy_modules_imported_by_status": imported.split(",") if imported else [],
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
