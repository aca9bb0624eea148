"""SLURM runner: one batch job per call, submitted with ``sbatch``, watched by one poller thread.

Each call gets a work directory ``<workdir>/<label>-<random>/`` holding ``call.pkl`` (the
pickled :class:`~detopt.task.TaskCall`), ``result.pkl`` (written by the job), ``stdout.txt`` and
``stderr.txt``. The job runs ``<python> -m detopt.runners.slurm_job call.pkl result.pkl``.

Why ``sbatch`` directly and not submitit: detopt already has what submitit adds (pickled calls,
result files, retries) and needs what it hides: the exact job options, one batched state query
for all jobs instead of submitit's per-job watcher, and a handle (job id + work directory) that
a new driver can re-attach to. The job script is a constant ``exec "$@"``; every value (options,
interpreter, file paths) is passed to ``sbatch`` as a separate argument, never through a shell,
and the job's environment is the environment ``sbatch`` is started with (``--export=ALL``).

Durable: jobs outlive the driver. ``handle`` is ``"<job id>@<work dir>"``; :meth:`reattach`
resumes watching a job (reading its result file, or its final state) without resubmitting.
"""

from __future__ import annotations

import glob
import logging
import os
import pickle
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator

from detopt.errors import ConfigError, RemoteTaskError, TrialError, WorkerLostError
from detopt.runners import slurm_states
from detopt.runners.base import (
    INTENT_PREFIX,
    Runner,
    RunnerFuture,
    RunnerOptions,
    TrialCancelledError,
    safe_name,
    settle,
)
from detopt.task import TaskCall
from detopt.units import Duration, MemoryMB

log = logging.getLogger("detopt.slurm")

_SCRIPT = ("#!/bin/sh\n# detopt SLURM job: runs its arguments as given (no shell parsing)\n"
           "exec \"$@\"\n")
_SAFE_VALUE = re.compile(r"^[^\s\x00-\x1f'\"`$\\;]+$")  # partition, account, qos, gres, constraint
#: sbatch options detopt sets itself (long names; sbatch also accepts any unique prefix of them)
_RESERVED_LONG = ("output", "error", "parsable", "wrap", "array", "wait", "job-name", "export",
                  "chdir", "hold")
_RESERVED_SHORT = ("-o", "-e", "-a", "-W", "-J", "-D", "-H")
_GRACE = 10.0  # seconds a finished job may take to show its result file (shared filesystems)


def _slurm_time(seconds: float) -> str:
    """``D-HH:MM:SS`` for ``--time`` (SLURM rounds up to whole minutes)."""
    total = max(1, int(-(-seconds // 1)))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days}-{hours:02d}:{minutes:02d}:{secs:02d}"


def _check_value(name: str, value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    if not _SAFE_VALUE.fullmatch(text) or text.startswith("-"):
        raise ConfigError(f"{name} {value!r} contains spaces, quotes or control characters.",
                          field=f"runner.{name}", fix="give a plain SLURM name, e.g. 'debug'")
    return text


def _extra_args(extra: Any) -> list[str]:
    """``extra`` directives (``"#SBATCH --x=y"`` lines or ``"--x=y"`` args) as sbatch arguments."""
    if extra is None:
        return []
    if isinstance(extra, str):
        extra = [extra]
    args: list[str] = []
    for i, item in enumerate(extra):
        text = str(item).strip()
        if "\n" in text or "\x00" in text:
            raise ConfigError("a directive spans several lines.", field=f"runner.extra[{i}]",
                              fix="give one directive per list entry")
        text = text.removeprefix("#SBATCH").strip()
        words = shlex.split(text)  # splitting only: nothing is ever run by a shell
        if not words or not words[0].startswith("-"):
            raise ConfigError(f"{item!r} is not an sbatch option.", field=f"runner.extra[{i}]",
                              fix="write e.g. '--nice=10' or '#SBATCH --exclusive'")
        for word in words:
            reserved = _reserved_option(word)
            if reserved:
                raise ConfigError(f"{word!r} sets {reserved}, which detopt sets itself.",
                                  field=f"runner.extra[{i}]", fix="remove it")
        args += words
    return args


def _reserved_option(word: str) -> str | None:
    """The reserved sbatch option ``word`` sets, whatever its spelling (``--output=x``,
    ``--outp=x``, ``-o/tmp/x``, ``-Jname``), or ``None``."""
    if word.startswith("--"):
        name = word[2:].split("=", 1)[0]
        hit = next((r for r in _RESERVED_LONG if name and r.startswith(name)), None)
        return f"--{hit}" if hit else None
    if word.startswith("-") and word[:2] in _RESERVED_SHORT:
        return word[:2]
    return None


def _forwarded_pythonpath() -> str:
    """The driver's import path, so jobs import what the driver can (shared filesystem)."""
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(dict.fromkeys(os.path.abspath(p) for p in paths))


@dataclass
class _Job:
    """A submitted job the poller watches."""

    job_id: str
    workdir: Path
    future: RunnerFuture
    since: float = field(default_factory=time.monotonic)  # when it was submitted or re-attached
    ended: _JobEnd | None = None

    @property
    def result_file(self) -> Path:
        return self.workdir / "result.pkl"


@dataclass
class _JobEnd:
    """A terminal state seen without a result file yet (waiting out the filesystem)."""

    state: slurm_states.JobState
    seen_at: float


def _logs(workdir: Path) -> dict[str, str]:
    return {"stdout": str(workdir / "stdout.txt"), "stderr": str(workdir / "stderr.txt"),
            "workdir": str(workdir)}


def _read_result(path: Path) -> tuple[bool, Any]:
    with open(path, "rb") as f:
        status, payload = pickle.load(f)
    return status == "ok", payload


class SlurmOptions(RunnerOptions):
    """Options of the ``slurm`` runner."""

    partition: str | None = Field(None, description="sbatch --partition")
    account: str | None = Field(None, description="sbatch --account")
    qos: str | None = Field(None, description="sbatch --qos")
    constraint: str | None = Field(None, description="sbatch --constraint")
    gres: str | None = Field(None, description="sbatch --gres")
    walltime: Duration | None = Field(None, description=(
        "default time limit of one job ('00:10:00', '2h'); a call's own walltime wins"))
    memory: MemoryMB | None = Field(None, description=(
        "default memory of one job ('4GB'); a call's own memory wins"))
    cores: PositiveInt | None = Field(None, description=(
        "default --cpus-per-task; a call asking for more cores wins"))
    extra: list[str] = Field(default_factory=list, description=(
        "further directives, e.g. ['--nice=10', '#SBATCH --exclusive']"))
    python: str | None = Field(None, description=(
        "interpreter the job runs (default: the driver's)"))
    workdir: Path = Field(Path("detopt-slurm"), description=(
        "directory on a filesystem shared with the compute nodes; one subdirectory per call"))
    env: dict[str, str | int | float | bool] = Field(default_factory=dict, description=(
        "environment variables added for the jobs"))
    forward_pythonpath: bool = Field(True, description=(
        "put the driver's sys.path on the jobs' PYTHONPATH"))
    poll_interval: PositiveFloat = Field(1.0, description=(
        "seconds between looks at the jobs' result files"))
    state_interval: PositiveFloat = Field(10.0, description=(
        "seconds between state queries (one sacct/squeue call for all jobs)"))
    slots: PositiveInt = Field(10, description="default concurrency of a study on this runner")
    state_source: Literal["auto", "sacct", "squeue"] = Field("auto", description=(
        "auto: sacct if accounting works, else squeue"))
    lost_after: PositiveFloat = Field(300.0, description=(
        "seconds a job may stay unknown to SLURM before it counts as lost"))

    @field_validator("partition", "account", "qos", "constraint", "gres")
    @classmethod
    def _plain(cls, value: str | None, info: Any) -> str | None:
        return _check_value(info.field_name, value)

    @field_validator("extra", mode="before")
    @classmethod
    def _directives(cls, value: Any) -> Any:
        _extra_args(value)  # raises a ConfigError naming the directive
        return [value] if isinstance(value, str) else value

    @field_validator("python")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and (not os.path.isabs(value) or "\n" in value):
            raise ValueError(f"python must be an absolute path, got {value!r}")
        return value


class SlurmRunner(Runner):
    """Runs each call as one SLURM batch job (options: :class:`SlurmOptions`)."""

    name = "slurm"
    durable = True
    Options = SlurmOptions

    def __init__(self, options: SlurmOptions | None = None, **kwargs: Any):
        settings = self._settings(options, kwargs)
        self.options = {k: getattr(settings, k) for k in
                        ("partition", "account", "qos", "constraint", "gres")}
        self.walltime = settings.walltime
        self.memory_mb = settings.memory
        self.cores = settings.cores
        self.extra = _extra_args(settings.extra)
        self.python = settings.python or sys.executable
        self.workdir = Path(settings.workdir).absolute()
        slots, state_interval = settings.slots, settings.state_interval
        poll_interval, lost_after = settings.poll_interval, settings.lost_after
        forward_pythonpath, env = settings.forward_pythonpath, settings.env
        self._slots = slots
        self.poll_interval = float(poll_interval)
        self.state_interval = max(float(state_interval), self.poll_interval)
        self._last_query = 0.0
        self.lost_after = float(lost_after)
        for tool in ("sbatch", "scancel", "squeue"):
            if shutil.which(tool) is None:
                raise ConfigError(f"{tool} is not on PATH.", field="runner.kind",
                                  fix="run on a SLURM login node (or load the slurm module)")
        self.env = dict(os.environ)
        if forward_pythonpath:
            self.env["PYTHONPATH"] = _forwarded_pythonpath()
        self.env["PYTHONUNBUFFERED"] = "1"  # logs appear while the job runs
        self.env.update({str(k): str(v) for k, v in (env or {}).items()})
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._script = self.workdir / ".detopt-job.sh"
        if not self._script.exists() or self._script.read_text() != _SCRIPT:
            tmp = self._script.with_suffix(f".{uuid.uuid4().hex[:8]}")
            tmp.write_text(_SCRIPT)
            os.replace(tmp, self._script)
        self.state_source = slurm_states.detect_source(self.env) \
            if settings.state_source == "auto" else settings.state_source
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._poller = threading.Thread(target=self._poll_loop, name="detopt-slurm-poller",
                                        daemon=True)
        self._poller.start()

    @property
    def slots(self) -> int:
        return self._slots

    # ------------------------------------------------------------------------ submission
    def sbatch_args(self, call: TaskCall, workdir: Path) -> list[str]:
        """The sbatch command for ``call`` (without the script and its arguments)."""
        res = call.resources
        pattern = str(workdir).replace("%", "%%")  # sbatch expands %j etc. in file names
        args = ["sbatch", "--parsable", "--export=ALL", "--ntasks=1",
                f"--job-name={_job_name(call.label)}",
                f"--output={pattern}/stdout.txt", f"--error={pattern}/stderr.txt",
                f"--cpus-per-task={max(res.cores, self.cores or 1)}"]
        for key, value in self.options.items():
            if value is not None:
                args.append(f"--{key}={value}")
        if res.gpus and self.options["gres"] is None:
            args.append(f"--gres=gpu:{res.gpus}")
        limit = res.walltime or self.walltime
        if limit:
            args.append(f"--time={_slurm_time(limit)}")
        memory = res.memory_mb or self.memory_mb
        if memory:
            args.append(f"--mem={memory}M")
        return args + self.extra

    def submit(self, call: TaskCall) -> RunnerFuture:
        if self._closed:
            raise RuntimeError("the runner is closed")
        workdir = self.workdir / f"{_job_name(call.label)}-{uuid.uuid4().hex[:8]}"
        workdir.mkdir(parents=True)
        with open(workdir / "call.pkl", "wb") as f:
            pickle.dump(call, f, protocol=pickle.HIGHEST_PROTOCOL)
        cmd = self.sbatch_args(call, workdir) + [
            str(self._script), self.python, "-m", "detopt.runners.slurm_job",
            str(workdir / "call.pkl"), str(workdir / "result.pkl")]
        env = {**self.env, **{"DETOPT_TRIAL_DIR": str(workdir)}}
        future = RunnerFuture(logs=_logs(workdir))
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120,
                                  check=False)
        except subprocess.TimeoutExpired:
            future.set_running_or_notify_cancel()
            future.set_exception(WorkerLostError("sbatch did not answer within 120 s"))
            return future
        if proc.returncode != 0:
            future.set_running_or_notify_cancel()
            future.set_exception(_rejected(proc))
            return future
        job_id = proc.stdout.strip().split(";")[0]
        # handles are stored in a 200-character column: fall back to the directory's name,
        # which reattach resolves against this runner's workdir
        future.handle = f"{job_id}@{workdir}"
        if len(future.handle) > 200:
            future.handle = f"{job_id}@{workdir.name}"
        future.set_running_or_notify_cancel()
        with self._lock:
            self._jobs[job_id] = _Job(job_id, workdir, future)
        return future

    def reattach(self, handle: str) -> RunnerFuture | None:
        """Watch the job behind ``handle`` again; ``None`` if neither its result nor SLURM
        knows it any more (the study then runs the trial again)."""
        if handle.startswith(INTENT_PREFIX):
            return self._adopt(handle.removeprefix(INTENT_PREFIX))
        job_id, sep, where = handle.partition("@")
        if not sep or not job_id or not where:
            return None
        workdir = Path(where) if os.path.isabs(where) else self.workdir / where
        future = RunnerFuture(handle=handle, logs=_logs(workdir))
        future.set_running_or_notify_cancel()
        job = _Job(job_id, workdir, future)
        if job.result_file.exists():
            self._settle_from_file(job)
            return future
        try:
            known = slurm_states.query(self.state_source, [job_id], self.env)
            if job_id not in known and self.state_source != "squeue":
                # accounting lags behind the controller for jobs submitted moments ago
                known = slurm_states.query("squeue", [job_id], self.env)
        except RuntimeError as exc:
            log.warning("cannot check SLURM job %s now (%s); watching it anyway", job_id, exc)
            known = {job_id: slurm_states.JobState(job_id, "UNKNOWN")}
        if job_id not in known and not job.result_file.exists():
            return None
        with self._lock:
            self._jobs[job_id] = job
        self._wake.set()
        return future

    def _adopt(self, label: str) -> RunnerFuture | None:
        """Find the job of a submission whose driver died before storing the job id: by the
        job name (the call's label) and the newest work directory made for that label."""
        name = _job_name(label)
        job_ids = slurm_states.find_by_name(name, self.env)
        workdirs = sorted(self.workdir.glob(f"{glob.escape(name)}-*"), key=lambda p: p.stat().st_mtime)
        if not job_ids or not workdirs:
            return None  # the submission never reached SLURM: the study runs the trial again
        log.info("adopting SLURM job %s (%s), submitted by a driver that died", job_ids[-1], name)
        return self.reattach(f"{job_ids[-1]}@{workdirs[-1]}")

    def cancel(self, future: Any) -> bool:
        """``scancel`` the job behind ``future``."""
        with self._lock:
            job = next((j for j in self._jobs.values() if j.future is future), None)
            if job is not None:
                del self._jobs[job.job_id]
        if job is None:
            return future.done()
        subprocess.run(["scancel", job.job_id], capture_output=True, env=self.env, timeout=60,
                       check=False)
        settle(future, exc=TrialCancelledError(f"SLURM job {job.job_id} cancelled by detopt"))
        return True

    def close(self) -> None:
        """Stop watching. Jobs keep running (durable); their futures report that."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._poller.join(timeout=30)
        with self._lock:
            jobs, self._jobs = list(self._jobs.values()), {}
        for job in jobs:
            settle(job.future, exc=TrialCancelledError(
                f"the runner was closed; SLURM job {job.job_id} keeps running "
                f"(re-attach with handle {job.future.handle})"))

    # --------------------------------------------------------------------- poller thread
    def _poll_loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.poll_interval)
            self._wake.clear()
            if self._closed:
                return
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - the poller must survive anything
                log.exception("SLURM poll failed; retrying in %g s", self.poll_interval)

    def poll(self, force: bool = False) -> None:
        """One round: read result files; every ``state_interval`` (or with ``force``) also ask
        SLURM about the jobs still without one."""
        with self._lock:
            jobs = list(self._jobs.values())
        waiting = []
        for job in jobs:
            if job.result_file.exists():
                self._finish(job)
            else:
                waiting.append(job)
        if not waiting or (not force and time.monotonic() - self._last_query < self.state_interval):
            return
        self._last_query = time.monotonic()
        try:
            states = slurm_states.query(self.state_source, [j.job_id for j in waiting], self.env)
        except RuntimeError as exc:
            log.warning("%s; will ask again", exc)
            return
        now = time.monotonic()
        for job in waiting:
            state = states.get(job.job_id)
            if state is None:
                if now - job.since > self.lost_after:
                    self._finish(job, WorkerLostError(
                        f"SLURM job {job.job_id} has been unknown to {self.state_source} for "
                        f"{self.lost_after:g} s and wrote no result"))
                continue
            if not state.terminal:
                job.since = now
                continue
            if state.state in ("COMPLETED", "FAILED"):
                # the job may have written its result after we looked, or the shared
                # filesystem shows it late: look again, then wait a little
                if job.result_file.exists():
                    self._finish(job)
                    continue
                if job.ended is None:
                    job.ended = _JobEnd(state, now)
                if now - job.ended.seen_at < _GRACE:
                    continue
            self._finish(job, slurm_states.error_for(state))

    def _finish(self, job: _Job, error: BaseException | None = None) -> None:
        with self._lock:
            if self._jobs.pop(job.job_id, None) is None:
                return  # cancelled meanwhile
        if error is None:
            self._settle_from_file(job)
        else:
            settle(job.future, exc=error)

    def _settle_from_file(self, job: _Job) -> None:
        try:
            ok, payload = _read_result(job.result_file)
        except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file
            settle(job.future, exc=RemoteTaskError(
                type(exc).__name__, f"cannot read the result of SLURM job {job.job_id}: {exc}", ""))
            return
        if ok:
            settle(job.future, result=payload)
        else:
            settle(job.future, exc=payload if isinstance(payload, BaseException) else
                    RemoteTaskError("Error", str(payload), ""))


def _rejected(proc: subprocess.CompletedProcess) -> TrialError:
    """The error for a failed sbatch: invalid options are rejected again on a retry, a busy or
    unreachable controller may accept the job later."""
    lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
    message = f"sbatch rejected the job: {lines[-1] if lines else f'exit code {proc.returncode}'}"
    if "invalid" in message.lower() or "unrecognized" in message.lower():
        error = TrialError(message)
        error.retryable = False
        return error
    return WorkerLostError(message)


def _job_name(label: str) -> str:
    return safe_name(label, fallback="detopt")


__all__ = ["SlurmRunner"]
