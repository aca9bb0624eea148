"""Static plots (matplotlib, Agg backend): hypervolume curve, Pareto front, parameters."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from detopt.problem import Problem  # noqa: E402
from detopt.trial import Trial, TrialStatus  # noqa: E402


def plot_hypervolume(history: np.ndarray, path: Path, normalized: bool, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=110)
    if len(history):
        ax.step(history[:, 0], history[:, 1], where="post", color="#1f77b4", lw=2)
    ax.set_xlabel("finished trials")
    ax.set_ylabel("hypervolume / true-front hypervolume" if normalized else "hypervolume")
    if normalized:
        ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_pareto(trials: Sequence[Trial], problem: Problem, pareto_ids: set[int], path: Path,
                true_front: np.ndarray | None = None) -> Path:
    """Pairwise objective scatter: all completed trials, the Pareto set highlighted."""
    names = problem.objectives.names
    done = [t for t in trials if t.status == TrialStatus.COMPLETED and not t.penalized]
    Y = np.array([t.values(names) for t in done]).reshape(len(done), len(names))
    on_front = np.array([t.index in pareto_ids for t in done], dtype=bool)
    feasible = np.array([problem.objectives.is_feasible({m: v[0] for m, v in t.metrics.items()})
                         for t in done], dtype=bool)
    m = len(names)
    pairs = [(i, j) for i in range(m) for j in range(i + 1, m)] or [(0, 0)]
    cols = min(3, len(pairs))
    rows = (len(pairs) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), dpi=110, squeeze=False)
    for ax, (i, j) in zip(axes.ravel(), pairs):
        if true_front is not None and len(true_front):
            signs = problem.objectives.signs
            tf = true_front * signs  # back to the objectives' own directions
            ax.scatter(tf[:, i], tf[:, j], s=2, color="#bbbbbb", label="true front")
        if len(Y):
            ax.scatter(Y[~on_front & feasible, i], Y[~on_front & feasible, j], s=10,
                       color="#8da0cb", alpha=0.6, label="trials")
            if not feasible.all():
                ax.scatter(Y[~feasible, i], Y[~feasible, j], s=12, marker="x", color="#999999",
                           alpha=0.7, label="outcome constraint violated")
            ax.scatter(Y[on_front, i], Y[on_front, j], s=22, color="#d62728", label="Pareto set")
        ax.set_xlabel(f"{names[i]} ({problem.objectives.objectives[i].direction[:3]})")
        ax.set_ylabel(f"{names[j]} ({problem.objectives.objectives[j].direction[:3]})")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(pairs):]:
        ax.axis("off")
    axes.ravel()[0].legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_parameters(trials: Sequence[Trial], problem: Problem, pareto_ids: set[int], path: Path,
                    max_parameters: int = 30) -> Path:
    """Parallel coordinates of the tunable parameters (unit-cube scale), Pareto set in red."""
    space = problem.space
    done = [t for t in trials if t.status == TrialStatus.COMPLETED]
    U = space.encode_many(t.params for t in done)[:, :max_parameters]
    names = space.tunable_names[:max_parameters]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(names) + 2), 3.8), dpi=110)
    x = np.arange(len(names))
    for u, t in zip(U, done):
        front = t.index in pareto_ids
        ax.plot(x, u, color="#d62728" if front else "#8da0cb", alpha=0.8 if front else 0.15,
                lw=1.4 if front else 0.8, zorder=3 if front else 1)
    ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("position in range (0 = low, 1 = high)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
