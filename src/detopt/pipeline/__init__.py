"""Pipelines: a trial as a chain of programs (geometry edit, overlap gate, simulate, reconstruct,
analyse), each stage job one runner call with the stage's resources.

Needs the ``pipeline`` extra (``pip install detopt[pipeline]``: Jinja2, lxml, uproot). The
configuration models in :mod:`detopt.pipeline.config` import nothing heavy.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from detopt.errors import ConfigError
from detopt.pipeline.config import PipelineConfig


def build_evaluation(config: PipelineConfig, parameters: Sequence[Any], space: Any,
                     required_metrics: Sequence[str], base_dir: str | Path | None) -> Any:
    """The :class:`~detopt.pipeline.orchestrator.PipelineEvaluation` of a ``problem.pipeline``
    section; every check that needs no trial runs here (templates, XPaths, metric sources).

    Args:
        config: the pipeline section.
        parameters: the problem's parameter configs (their ``file``/``xpath``/``attribute``/
            ``unit`` become geometry edits).
        space: the built design space.
        required_metrics: the metrics a result must contain.
        base_dir: the study file's folder.
    """
    try:
        from detopt.pipeline.geometry import XmlEdit
        from detopt.pipeline.orchestrator import PipelineEvaluation
        from detopt.pipeline.plan import Plan
    except ImportError as exc:
        raise ConfigError(f"pipelines need an optional dependency that is missing ({exc.name}).",
                          field="problem.pipeline", fix="pip install 'detopt[pipeline]'") from None
    edits = []
    for i, q in enumerate(parameters):
        if q.file is None and q.xpath is None and q.attribute is None:
            continue
        if q.file is None or q.xpath is None:
            raise ConfigError("a geometry edit needs both 'file' and 'xpath'.",
                              field=f"problem.parameters[{i}]",
                              fix="give file (inside the geometry folder) and xpath")
        edits.append(XmlEdit(q.name, q.file, q.xpath, q.attribute, q.unit or "",
                             where=f"problem.parameters[{i}]"))
    base = Path(base_dir or ".").resolve()
    plan = Plan(config, space, edits, base, required_metrics)
    workdir = None
    if config.workdir:
        workdir = Path(config.workdir)
        workdir = workdir if workdir.is_absolute() else base / workdir
    return PipelineEvaluation(plan, workdir)


__all__ = ["PipelineConfig", "build_evaluation"]
