"""Reading SLURM job states in batches, and what a final state means for a trial.

Two sources, detected once per runner:

* ``sacct`` when accounting (slurmdbd) is configured: it knows every job ever run, so a job can
  be found again after any downtime of the driver.
* ``squeue --states=all`` otherwise: the controller's job table, which keeps finished jobs for
  ``MinJobAge`` seconds (the same data as ``scontrol show job``; ``scontrol`` takes one job id
  per call, ``squeue --jobs`` takes a list, so one subprocess answers for every job).

Either way one subprocess per poll covers all jobs (in chunks of :data:`CHUNK` ids). Commands
are argument lists; nothing goes through a shell.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from detopt.errors import TrialError, TrialTimeoutError, WorkerLostError

log = logging.getLogger("detopt.slurm")

#: job ids per sacct/squeue call (keeps command lines short on big studies)
CHUNK = 400

#: states after which the job will not run again
TERMINAL = frozenset({
    "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED",
    "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT",
})
#: terminal states that mean the node or the scheduler took the job away (worth retrying)
LOST = frozenset({"NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT"})


@dataclass(frozen=True)
class JobState:
    """One job as a source reports it (``state`` without the ``by UID`` suffix of sacct)."""

    job_id: str
    state: str
    reason: str = ""
    exit_code: str = ""
    elapsed: str = ""
    time_limit: str = ""

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def describe(self) -> str:
        """``"SLURM job 12 TIMEOUT (time limit 0:01:00, elapsed 0:01:31)"`` and the like."""
        details = []
        if self.reason and self.reason not in ("None", "(null)"):
            details.append(f"reason {self.reason}")
        if self.exit_code and self.exit_code not in ("0:0", ""):
            details.append(f"exit code {self.exit_code}")
        if self.state == "TIMEOUT" and self.time_limit:
            details.append(f"time limit {self.time_limit}")
        if self.elapsed:
            details.append(f"elapsed {self.elapsed}")
        text = f"SLURM job {self.job_id} {self.state}"
        return f"{text} ({', '.join(details)})" if details else text


def error_for(job: JobState) -> TrialError:
    """The trial error for a job that ended without writing a result.

    TIMEOUT -> :class:`TrialTimeoutError`; CANCELLED -> ``TrialCancelledError`` (retryable:
    someone else's scancel says nothing about the design); OUT_OF_MEMORY -> not retryable
    :class:`WorkerLostError` (the same design asks for the same memory); node failure,
    preemption, boot failure, deadline -> retryable :class:`WorkerLostError`; COMPLETED or
    FAILED without a result (the interpreter died, or the result file is missing) -> retryable
    :class:`WorkerLostError` pointing at the job's stderr.
    """
    from detopt.runners.base import TrialCancelledError

    text = job.describe()
    if job.state == "TIMEOUT":
        return TrialTimeoutError(f"{text}: the job reached its time limit")
    if job.state == "CANCELLED":
        return TrialCancelledError(f"{text}: cancelled outside detopt (scancel or an admin)")
    if job.state == "OUT_OF_MEMORY":
        error = WorkerLostError(f"{text}: the job ran out of memory; ask for more (mem)")
        error.retryable = False
        return error
    if job.state in LOST:
        return WorkerLostError(f"{text}: the job was lost by the batch system")
    return WorkerLostError(f"{text} without writing a result; see the job's stderr file")


def _run(cmd: list[str], env: Mapping[str, str] | None,
         timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, env=dict(env) if env else None,
                          timeout=timeout, check=False)


def detect_source(env: Mapping[str, str] | None = None, timeout: float = 30.0) -> str:
    """``"sacct"`` if the cluster keeps accounting, else ``"squeue"``."""
    try:
        proc = _run(["sacct", "--noheader", "--parsable2", "--allocations", "--format=JobIDRaw",
                     "--starttime=now"], env, timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("sacct unusable (%s); reading job states from squeue", exc)
        return "squeue"
    if proc.returncode != 0:
        log.info("sacct unusable (%s); reading job states from squeue",
                 (proc.stderr or proc.stdout).strip().splitlines()[:1])
        return "squeue"
    return "sacct"


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _sacct(ids: list[str], env: Mapping[str, str] | None, timeout: float) -> dict[str, JobState]:
    proc = _run(["sacct", "--noheader", "--parsable2", "--allocations", f"--jobs={','.join(ids)}",
                 "--format=JobIDRaw,State,ExitCode,Reason,Elapsed,Timelimit"], env, timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"sacct failed: {proc.stderr.strip() or proc.stdout.strip()}")
    out: dict[str, JobState] = {}
    for line in proc.stdout.splitlines():
        fields = line.split("|")
        if len(fields) < 6:
            continue
        job_id, state, exit_code, reason, elapsed, limit = fields[:6]
        out[job_id] = JobState(job_id, state.split()[0] if state else "UNKNOWN", reason,
                               exit_code, elapsed, limit)
    return out


def _squeue(ids: list[str], env: Mapping[str, str] | None, timeout: float) -> dict[str, JobState]:
    proc = _run(["squeue", "--noheader", "--states=all", f"--jobs={','.join(ids)}",
                 "--format=%i|%T|%r|%M|%l"], env, timeout)
    if proc.returncode != 0:
        # a list made only of purged ids is an error for squeue: nothing is known about them
        if "Invalid job id" in proc.stderr:
            return {}
        raise RuntimeError(f"squeue failed: {proc.stderr.strip() or proc.stdout.strip()}")
    out: dict[str, JobState] = {}
    for line in proc.stdout.splitlines():
        fields = line.strip().split("|")
        if len(fields) < 5:
            continue
        job_id, state, reason, elapsed, limit = fields[:5]
        out[job_id] = JobState(job_id, state, reason, "", elapsed, limit)
    return out


def find_by_name(name: str, env: Mapping[str, str] | None = None,
                 timeout: float = 60.0) -> list[str]:
    """Ids of the jobs called ``name`` that the controller or the accounting knows, oldest first.

    Both are asked: the controller forgets finished jobs after MinJobAge, accounting lags behind
    new submissions (and may not exist). Used to find a job whose submission the driver did not
    live to record.
    """
    found: set[str] = set()
    commands = [
        ["squeue", "--noheader", "--states=all", f"--name={name}", "--format=%i"],
        ["sacct", "--noheader", "--parsable2", "--allocations", f"--name={name}",
         "--starttime=now-7days", "--format=JobIDRaw"],
    ]
    for cmd in commands:
        try:
            proc = _run(cmd, env, timeout)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if proc.returncode == 0:
            found.update(line.strip() for line in proc.stdout.splitlines() if line.strip().isdigit())
    return sorted(found, key=int)


def query(source: str, ids: Iterable[str], env: Mapping[str, str] | None = None,
          timeout: float = 60.0) -> dict[str, JobState]:
    """States of the jobs ``ids`` that the source knows (unknown ids are absent).

    Raises:
        RuntimeError: the command failed (slurmctld/slurmdbd unreachable); callers retry later.
    """
    ids = sorted(set(ids), key=lambda i: (len(i), i))
    reader = _sacct if source == "sacct" else _squeue
    out: dict[str, JobState] = {}
    for chunk in _chunks(ids):
        try:
            out.update(reader(chunk, env, timeout))
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{source} did not answer within {timeout:g} s") from None
    return out
