"""What one stage job runs, wherever the runner puts it: ``detopt.pipeline.job:run_stage_job``.

The driver renders everything (arguments, environment, output paths) and sends a plain-data
*spec*; this function runs it in the job's directory and returns plain data:
``{"returncode", "outputs", "result", "infeasible", "seconds"}``.

- A command runs as an argument list (never through a shell), with the stage's environment
  passed to that process only (the worker's ``os.environ`` is not changed), its output in
  ``stdout.txt`` / ``stderr.txt`` of the job's directory, in its own process group (a timeout
  kills the whole group) and tied to this process's life (Linux ``PR_SET_PDEATHSIG``), so a
  killed worker leaves no orphaned simulation.
- A gate that fires returns ``infeasible`` (the reason) instead of raising: the driver turns it
  into :class:`~detopt.errors.InfeasibleDesignError`, never retried.
- Any other non-zero exit raises :class:`StageJobError` (retryable) with the end of stderr.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from detopt.errors import InfeasibleDesignError, TrialError, TrialTimeoutError
from detopt.pipeline.container import check_engine, container_argv, setup_argv
from detopt.pipeline.outputs import read_output

STDOUT, STDERR = "stdout.txt", "stderr.txt"


class StageJobError(TrialError):
    """A stage job failed (non-zero exit, command not found, ...)."""

    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable

    def __reduce__(self):
        return (type(self), (str(self), self.retryable))


def _resolve_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


#: looked up once, here: the child between fork and exec only calls it (no import, no dlopen,
#: nothing that could wait for a lock another thread of the parent held at fork time)
_PRCTL = _resolve_prctl()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def _tail(path: Path, lines: int = 5, chars: int = 600) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    tail = " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])
    return tail[-chars:]


def _name(spec: Mapping[str, Any]) -> str:
    return f"stage {spec['stage']!r} job {spec['job']}"


def run_stage_job(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Run one stage job described by ``spec`` (see the module docs)."""
    cwd = Path(spec["cwd"])
    cwd.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    out: dict[str, Any] = {"returncode": None, "outputs": {}, "result": None, "infeasible": None}
    if spec["kind"] == "call":
        from detopt.task import resolve

        try:
            out["result"] = resolve(spec["call"])(**dict(spec.get("kwargs") or {}))
        except InfeasibleDesignError as exc:
            out["infeasible"] = str(exc)
            return out
    else:
        rc = _run_command(spec, cwd)
        out["returncode"] = rc
        reason = _gate(spec, cwd, rc)
        if reason is not None:
            out["infeasible"] = reason
            out["seconds"] = time.monotonic() - started
            return out
        if rc != 0:
            raise StageJobError(f"{_name(spec)}: the command exited with status {rc}"
                                f"{_signal_text(rc)}; stderr ends: {_tail(cwd / STDERR) or '(empty)'}"
                                f" (log: {cwd / STDERR})")
    for name, output in (spec.get("outputs") or {}).items():
        path = Path(output["path"])
        out["outputs"][name] = read_output(name, path if path.is_absolute() else cwd / path, output)
    out["seconds"] = time.monotonic() - started
    return out


def _signal_text(rc: int) -> str:
    return f" (killed by signal {-rc})" if rc < 0 else ""


def _run_command(spec: Mapping[str, Any], cwd: Path) -> int:
    argv = [str(a) for a in spec["argv"]]
    env = {**os.environ, **dict(spec.get("env") or {})}
    setup = spec.get("setup")
    if setup:
        argv = setup_argv(setup["script"], setup.get("args") or [], argv)
    container = spec.get("container")
    if container:
        check_engine(container, f"stage {spec['stage']}.container")
        argv, extra = container_argv(container, argv, trial_dir=Path(spec["trial_dir"]),
                                     cwd=cwd, env=dict(spec.get("env") or {}))
        env.update(extra)
    timeout = spec.get("timeout")
    with open(cwd / STDOUT, "wb") as stdout, open(cwd / STDERR, "wb") as stderr:
        try:
            process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                       stdout=stdout, stderr=stderr, start_new_session=True,
                                       preexec_fn=_die_with_parent)  # noqa: PLW1509 (see _PRCTL)
        except OSError as exc:  # not found, not executable: the same on every try
            raise StageJobError(f"{_name(spec)}: cannot start {argv[0]!r}: {exc.strerror or exc}",
                                retryable=False) from None
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise TrialTimeoutError(f"{_name(spec)}: the command ran longer than its "
                                    f"{timeout:g} s timeout and was stopped") from None
        except BaseException:
            _kill_group(process)
            raise


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _gate(spec: Mapping[str, Any], cwd: Path, rc: int) -> str | None:
    """The reason the design is infeasible, or ``None`` when the gate lets it pass."""
    gate = spec.get("gate")
    if not gate:
        return None
    message = gate.get("message") or "the design failed the stage's gate"
    if rc in (gate.get("exit_codes") or []):
        return f"{message} (exit status {rc})"
    if rc != 0 or not (gate.get("pattern") or gate.get("require")):
        return None  # a crash is a failure of the job, not a property of the design
    source = gate.get("source") or "stdout"
    path = cwd / (STDOUT if source == "stdout" else STDERR if source == "stderr" else source)
    try:
        text = path.read_text(errors="replace")
    except OSError:
        raise StageJobError(f"{_name(spec)}: the gate's source {path} does not exist",
                            retryable=False) from None
    if gate.get("pattern"):
        match = re.search(gate["pattern"], text, re.M)
        if match is not None:
            line = text[text.rfind("\n", 0, match.start()) + 1:].split("\n", 1)[0].strip()
            return f"{message}: {line[:300]}"
    if gate.get("require") and re.search(gate["require"], text, re.M) is None:
        return f"{message} ({gate['require']!r} not found in {path.name})"
    return None
