"""The trial orchestrator: one pipeline trial = its stages in order, each stage's jobs at once.

:class:`PipelineEvaluation` implements :class:`detopt.evaluation.Evaluation`. For every attempt
it starts one driver thread (:class:`_TrialRun`) that edits the geometry, then runs the stages:
every job is its own ``runner.submit`` of ``detopt.pipeline.job:run_stage_job`` with the stage's
resources (a SLURM job on SLURM), or a driver thread for ``where: driver`` stages.

The trial's progress (per stage and job: status, runner handle, outputs) is written with
``context.save_state`` after every change, so a resumed study skips finished stages and
re-attaches to (or re-runs) only the unfinished jobs. The future's handle is
``pipeline:<label>``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any

from detopt.errors import (
    DetoptError,
    InfeasibleDesignError,
    InvalidResultError,
    RemoteTaskError,
    TrialError,
)
from detopt.evaluation import TrialContext
from detopt.pipeline.geometry import prepare_geometry
from detopt.pipeline.job import run_stage_job
from detopt.pipeline.outputs import MAX_ELEMENTS
from detopt.pipeline.plan import Plan, Stage, stage_view
from detopt.pipeline.workspace import Workspace
from detopt.runners.base import INTENT_PREFIX, Runner, RunnerFuture, TrialCancelledError, settle
from detopt.task import TaskCall
from detopt.trial import parse_result

log = logging.getLogger("detopt.pipeline")
HANDLE_PREFIX = "pipeline:"
STATE_VERSION = 1
JOB_FUNCTION = "detopt.pipeline.job:run_stage_job"


class StageFailedError(TrialError):
    """A stage job failed for good (its retries used up, or a failure retrying cannot fix)."""

    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable

    def __reduce__(self):
        return (type(self), (str(self), self.retryable))


class _Stopped(Exception):
    """The attempt was given up (cancelled by the study, or the runner closed)."""


class PipelineFuture(RunnerFuture):
    """The future of a pipeline trial; cancelling it cancels the running jobs."""

    def __init__(self, handle: str, logs: dict[str, str], run: _TrialRun):
        super().__init__(handle=handle, logs=logs)
        self._run = run

    def cancel(self) -> bool:
        if super().cancel():
            self._run.stop(cancel_jobs=True)
            return True
        return False


class PipelineEvaluation:
    """Evaluates a trial by running a :class:`~detopt.pipeline.plan.Plan`.

    Args:
        plan: the compiled pipeline.
        workdir: the study's work directory, when the pipeline names one.
    """

    def __init__(self, plan: Plan, workdir: Path | None = None):
        self.plan = plan
        self.workdir = workdir

    def submit(self, runner: Runner, params: Mapping[str, Any], context: TrialContext
               ) -> RunnerFuture:
        state = _copy(context.state)
        if state.get("version") != STATE_VERSION or state.get("attempt") != context.attempt:
            # a new attempt (or a retry after a failure) starts afresh in its own folder
            state = {"version": STATE_VERSION, "attempt": context.attempt,
                     "label": context.label, "params": _copy(params), "geometry": None,
                     "stages": {}}
        return _TrialRun(self.plan, runner, state, context).start()

    def reattach(self, runner: Runner, handle: str, context: TrialContext) -> RunnerFuture | None:
        state = _copy(context.state)
        if state.get("version") != STATE_VERSION or state.get("attempt") != context.attempt \
                or "params" not in state:
            return None
        return _TrialRun(self.plan, runner, state, context).start()


def _copy(value: Any) -> Any:
    """A deep, JSON-plain copy (the state is stored as JSON and mutated by one thread)."""
    return json.loads(json.dumps(value, default=str))


class _TrialRun:
    """One attempt of one trial, driven by a thread of its own."""

    def __init__(self, plan: Plan, runner: Runner, state: dict[str, Any], context: TrialContext):
        self.plan, self.runner, self.state, self.context = plan, runner, state, context
        self.ws = Workspace(context.workdir, context.attempt)
        self.future = PipelineFuture(HANDLE_PREFIX + context.label,
                                     {"workdir": str(self.ws.root), "logs": str(self.ws.logs)}, self)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._active: dict[Future, int] = {}

    def start(self) -> PipelineFuture:
        threading.Thread(target=self._drive, name=f"detopt-pipeline-{self.context.label}",
                         daemon=True).start()
        return self.future

    def stop(self, cancel_jobs: bool) -> None:
        self._stop.set()
        if cancel_jobs:
            self._cancel_active()

    # ------------------------------------------------------------------------- the chain
    def _drive(self) -> None:
        try:
            self.ws.create()
            self._save()
            params = self.state["params"]
            self.ws.write_design(params)
            geometry_dir = self._geometry(params)
            for stage in self.plan.stages:
                record = self.state["stages"].get(stage.name)
                if record is not None and record["status"] == "done":
                    continue  # finished before (a resumed trial)
                self._check_stop()
                self.ws.check_free_space(stage.min_free_mb, stage.name)
                self._run_stage(stage, params, geometry_dir)
            metrics = self._metrics()
            self.ws.cleanup(self.plan.config.cleanup.remove)
            settle(self.future, result=metrics)
        except _Stopped:
            log.info("%s: given up; the stored state keeps what finished", self.context.label)
        except BaseException as exc:  # noqa: BLE001 - every failure ends the attempt
            if not self.plan.config.cleanup.keep_failed:
                self.ws.cleanup(self.plan.config.cleanup.remove)
            if isinstance(exc, DetoptError):  # e.g. a template fails on real outputs
                exc = StageFailedError(str(exc), retryable=False)
            settle(self.future, exc=exc)

    def _save(self) -> None:
        self.context.save_state(self.state)

    def _check_stop(self) -> None:
        if self._stop.is_set() or self.future.cancelled():
            raise _Stopped()

    def _geometry(self, params: Mapping[str, Any]) -> Path | None:
        if self.plan.geometry_source is None:
            return None
        done = self.state.get("geometry") or {}
        if done.get("status") == "done" and self.ws.geometry.is_dir():
            return self.ws.geometry
        assert self.plan.config.geometry is not None
        prepare_geometry(self.plan.geometry_source, self.ws.geometry, self.plan.edits, params,
                         self.plan.config.geometry.mode)
        self.state["geometry"] = {"status": "done", "dir": str(self.ws.geometry)}
        self._save()
        return self.ws.geometry

    def _stages_view(self) -> dict[str, Any]:
        view: dict[str, Any] = {}
        for stage in self.plan.stages:
            record = self.state["stages"].get(stage.name)
            if record is None or record["status"] != "done":
                break
            jobs = [{"index": k, "workdir": str(self.ws.job_dir(stage.name, k)),
                     "payload": j["payload"], "outputs": j["outputs"], "result": j["result"]}
                    for k, j in enumerate(record["jobs"])]
            view[stage.name] = stage_view(stage, self.ws.stage_dir(stage.name), jobs)
        return view

    # ---------------------------------------------------------------------------- stages
    def _run_stage(self, stage: Stage, params: Mapping[str, Any], geometry_dir: Path | None) -> None:
        record = self.state["stages"].get(stage.name)
        if record is None:
            record = {"status": "running", "jobs": [
                {"status": "pending", "payload": p, "tries": 0, "handle": None, "outputs": {},
                 "result": None, "error": None} for p in _copy(stage.payloads(params))]}
            self.state["stages"][stage.name] = record
            self._save()
        c = self.context
        base = self.plan.context(params, study=c.study, geometry_dir=geometry_dir,
                                 trial={"index": c.trial, "attempt": c.attempt, "label": c.label,
                                        "workdir": str(self.ws.root),
                                        "design_file": str(self.ws.design_file)},
                                 stages=self._stages_view())
        queue: list[int] = []
        for k, job in enumerate(record["jobs"]):
            if job["status"] == "done":
                continue
            future = None
            if job["status"] in ("running", "submitting") and job["handle"] \
                    and stage.config.where == "runner":
                future = self._reattach(job["handle"])
            if future is not None:
                job["status"], job["handle"] = "running", getattr(future, "handle", None) or job["handle"]
                with self._lock:
                    self._active[future] = k
                log.info("%s: %s job %d re-attached (%s)", c.label, stage.name, k, job["handle"])
            else:
                if job["status"] in ("running", "submitting"):  # cut short by a dead driver:
                    job["tries"] -= 1  # it does not use up a retry
                    job["interrupted"] = job.get("interrupted", 0) + 1
                queue.append(k)
        self._save()
        limit = stage.config.max_parallel
        while queue or self._active:
            self._check_stop()
            while queue and (limit is None or len(self._active) < limit):
                self._submit(stage, record, queue.pop(0), base)
            with self._lock:
                active = list(self._active)
            done, _ = wait(active, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                with self._lock:
                    k = self._active.pop(future)
                if self._finished(stage, record, k, future):
                    queue.insert(0, k)
        record["status"] = "done"
        self._save()

    def _submit(self, stage: Stage, record: dict[str, Any], k: int, base: Mapping[str, Any]) -> None:
        job = record["jobs"][k]
        job["tries"] += 1
        self.ws.prepare_job(stage.name, k, job["tries"])
        payloads = [j["payload"] for j in record["jobs"]]
        spec = self.plan.job_spec(stage, k, payloads, base, self.ws.stage_dir(stage.name),
                                  self.context.workdir)
        job["output_paths"] = {n: str(Path(spec["cwd"]) / o["path"]) for n, o in spec["outputs"].items()}
        label = f"{self.context.label}.{stage.name}.j{k}"
        if job["tries"] > 1:  # a retry is a new job: never adopted as the earlier one
            label += f".r{job['tries']}"
        if stage.config.where == "driver":
            spec.pop("resources_env", None)
            future: Future = _in_thread(spec)
            job.update(status="running", handle=None)
        else:
            resources = stage.resources.model_copy(update={"env": spec.pop("resources_env", {}) or {}})
            call = TaskCall(JOB_FUNCTION, {"spec": spec}, resources, label=label)
            if self.runner.durable:  # a driver killed now must not submit the job twice
                job.update(status="submitting", handle=INTENT_PREFIX + label)
                self._save()
            future = self.runner.submit(call)
            job.update(status="running", handle=getattr(future, "handle", None))
        job["error"] = None
        self._save()
        with self._lock:
            self._active[future] = k

    def _finished(self, stage: Stage, record: dict[str, Any], k: int, future: Future) -> bool:
        """Store a finished job; returns True when it must run again (a retry)."""
        job = record["jobs"][k]
        exc = None if future.cancelled() else future.exception()
        if future.cancelled() or isinstance(exc, TrialCancelledError):
            # given up by the study, a closed runner or an external cancel: the stored job
            # stays as it was, so a resumed study re-attaches to it or runs it again
            self._check_stop()
            raise exc if exc is not None else TrialCancelledError(f"{stage.name} job {k} cancelled")
        if exc is None:
            result = future.result()
            job.update(outputs=result.get("outputs") or {}, result=_plain(result.get("result")),
                       returncode=result.get("returncode"), seconds=result.get("seconds"))
            if result.get("infeasible"):
                job.update(status="infeasible", error=result["infeasible"])
                self._save()
                self._cancel_active()
                raise InfeasibleDesignError(stage.name, None, result["infeasible"])
            job["status"] = "done"
            self._save()
            return False
        retryable = exc.retryable if isinstance(exc, TrialError) else not isinstance(exc, DetoptError)
        job["error"] = _reason(exc, f"stage {stage.name!r} job {k}: ")
        if retryable and job["tries"] <= stage.config.retries:
            job["status"] = "retrying"
            self._save()
            log.info("%s: %s job %d failed (%s); retrying", self.context.label, stage.name, k,
                     job["error"])
            return True
        job["status"] = "failed"
        self._save()
        self._cancel_active()
        tries = f" after {job['tries']} tries" if job["tries"] > 1 else ""
        raise StageFailedError(f"stage {stage.name!r} job {k} failed{tries}: {job['error']}",
                               retryable=retryable)

    def _reattach(self, handle: str) -> Future | None:
        try:
            return self.runner.reattach(handle)
        except Exception as exc:  # noqa: BLE001 - a job that cannot be found runs again
            log.info("%s: cannot re-attach %s (%s); running it again", self.context.label, handle, exc)
            return None

    def _cancel_active(self) -> None:
        with self._lock:
            active, self._active = list(self._active), {}
        for future in active:
            try:
                self.runner.cancel(future)
            except Exception:  # noqa: BLE001 - best effort; the attempt ends anyway
                future.cancel()

    # --------------------------------------------------------------------------- metrics
    def _metrics(self) -> dict[str, Any]:
        required = self.plan.required_metrics
        if self.plan.metrics is None:
            last = self.plan.stages[-1]
            jobs = self.state["stages"][last.name]["jobs"]
            if len(jobs) != 1:
                raise InvalidResultError(f"the last stage {last.name!r} ran {len(jobs)} jobs; "
                                         "say how its results combine in pipeline.metrics")
            if last.config.call:
                value, where = jobs[0]["result"], f"the return value of stage {last.name!r}"
            else:
                value = jobs[0]["outputs"].get("metrics")
                where = f"output 'metrics' of stage {last.name!r} ({jobs[0]['output_paths']['metrics']})"
            if not isinstance(value, Mapping):
                raise InvalidResultError(f"{where} is {type(value).__name__}, expected a mapping "
                                         "of metric values")
            missing = [m for m in required if m not in value]
            if missing:
                raise InvalidResultError(f"{where}: key {missing[0]!r} is missing (keys: "
                                         f"{', '.join(map(str, value)) or 'none'})")
            try:
                parse_result({m: value[m] for m in required}, required)
            except InvalidResultError as exc:
                raise InvalidResultError(f"{where}: {exc}") from None
            return {m: v for m, v in value.items() if m in required or _is_metric(m, v)}
        out: dict[str, Any] = {}
        for metric, source in self.plan.metrics.items():
            mean = self._combined(metric, source.from_, source.combine)
            sem = self._combined(metric, source.sem, source.combine) if source.sem else None
            out[metric] = mean if sem is None else (mean, sem)
        return out

    def _combined(self, metric: str, ref: str, how: str) -> float:
        stage, _, rest = ref.partition(".")
        output, *keys = rest.split(".")
        jobs = self.state["stages"][stage]["jobs"]
        values = []
        for k, job in enumerate(jobs):
            value = job["result"] if output == "result" else job["outputs"].get(output)
            path = (job.get("output_paths") or {}).get(output, "")
            where = f"metric {metric!r}: output {output!r} of stage {stage!r} job {k}" + \
                    (f" ({path})" if path else "")
            if keys:
                from detopt.pipeline.outputs import select

                value = select(value, ".".join(keys), where)
            try:
                values.append(parse_result({metric: value}, [metric])[metric][0])
            except InvalidResultError:
                raise InvalidResultError(f"{where} is {_short(value)}, not a number") from None
        if how == "only":
            if len(values) != 1:
                raise InvalidResultError(f"metric {metric!r}: stage {stage!r} ran {len(values)} "
                                         "jobs; set combine: mean, sum, min or max")
            return values[0]
        return {"mean": sum(values) / len(values), "sum": sum(values), "min": min(values),
                "max": max(values)}[how]


def _reason(exc: BaseException, prefix: str) -> str:
    """One line saying why a job failed (without the stage/job prefix the job already wrote)."""
    text = exc.message if isinstance(exc, RemoteTaskError) else str(exc)
    text = (text.strip().splitlines() or [type(exc).__name__])[0].removeprefix(prefix)
    if isinstance(exc, RemoteTaskError) and exc.type_name not in ("StageJobError", "InvalidResultError"):
        text = f"{exc.type_name}: {text}"
    return text


def _is_metric(name: str, value: Any) -> bool:
    """Extra entries of a metrics document are kept when they are metric values."""
    try:
        parse_result({name: value}, [name])
    except InvalidResultError:
        return False
    return True


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


def _plain(value: Any) -> Any:
    """A callable's return value as JSON-plain data (stored with the trial's state)."""
    value = _copy(value)
    if isinstance(value, list) and len(value) > MAX_ELEMENTS:
        raise InvalidResultError(f"a stage returned {len(value)} values; return fewer (a summary)")
    return value


def _in_thread(spec: dict[str, Any]) -> Future:
    """Run a job in a daemon thread of the driver (``where: driver``)."""
    future: Future = Future()
    future.set_running_or_notify_cancel()

    def run() -> None:
        try:
            future.set_result(run_stage_job(spec))
        except BaseException as exc:  # noqa: BLE001 - reported through the future
            future.set_exception(exc)

    threading.Thread(target=run, name=f"detopt-stage-{spec['stage']}-{spec['job']}",
                     daemon=True).start()
    return future
