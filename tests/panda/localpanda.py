"""TEST ONLY: an iDDS carrier plugin that stands in for PanDA by running each job on this machine.

What it replaces and why: a real PanDA (server, JEDI, a pilot, Harvester, its database schema)
cannot run on the 2-core, loopback-only CI machine (reference panda-idds.md §16). The iDDS
agents (tier C) hand every transform to a carrier plugin; in production that is
``PandaSubmitterPoller``, which sends ``get_task_params(work)`` to PanDA
(``Client.insertTaskParams``) and polls the task. This plugin builds the same, **real** task
parameters (iDDS's ``BaseSubmitter.get_task_params``), saves them as ``task_params.json`` for the
tests to inspect, and does what JEDI + the pilot + the ``run_workflow_wrapper`` would do:

* one job per pseudo-input (``pfnList``), in its own directory, running
  ``idds_parse_workflow_args <jobParameters>`` and ``eval``-ing the printed command (the wrapper's
  steps), so the job runs the real ``run_workflow`` worker with the real serialized context;
* a job that exits non-zero is started again until ``maxAttempt`` attempts were made (JEDI's
  retry of failed jobs); the task is Finished when every job succeeded, Failed otherwise;
* ``abort`` kills the jobs' process groups (a soft ``killTask``).

What it does not do: brokerage, queues, the PanDA cache download (jobs find the test code on
``PYTHONPATH``, as on a shared filesystem; the tarball is checked by other tests), real
credentials (the jobs use the test certificate, accepted by the REST test shim).

Environment (set by scripts/services/start_idds.sh when it starts the agents):
``LOCALPANDA_JOBS`` (job directories), ``LOCALPANDA_BIN`` (venv bin with run_workflow),
``LOCALPANDA_IDDS_HOST``, ``LOCALPANDA_PROXY``.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time

from idds.agents.carrier.plugins.base import BaseSubmitterPoller
from idds.common.constants import ProcessingStatus



def _jobs_dir() -> str:
    return os.environ.get("LOCALPANDA_JOBS", "/tmp/localpanda-jobs")


def _job_env() -> dict[str, str]:
    """What the wrapper gives a job: a client-mode iDDS config, the iDDS host, a credential."""
    BIN = os.environ["LOCALPANDA_BIN"]
    env = {k: v for k, v in os.environ.items() if k not in ("IDDS_CONFIG", "IDDS_AUTH_CONFIG")
           and not k.startswith("IDDS_BROKER")}  # jobs take the broker from the work's context
    client_cfg = os.path.join(os.path.dirname(BIN), "etc", "idds", "idds.cfg.client.template")
    env.update({"IDDS_CLIENT_MODE": "1", "IDDS_CONFIG": client_cfg, "IDDS_AUTH_TYPE": "x509_proxy",
                "X509_USER_PROXY": os.environ.get("LOCALPANDA_PROXY", ""),
                "IDDS_HOST": os.environ.get("LOCALPANDA_IDDS_HOST", ""),
                "PATH": f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}", "PYTHONUNBUFFERED": "1"})
    return env


def _launch(task_dir: str, index: int, attempt: int, args: str) -> None:
    jdir = os.path.join(task_dir, f"job{index}.a{attempt}")
    os.makedirs(jdir)
    # the wrapper's two steps: decode the arguments into ./run_workflow.sh, then run what it printed
    script = f"cmd=$(idds_parse_workflow_args {args}) || exit 97; eval $cmd; echo $? > rc.tmp; mv rc.tmp rc"
    with open(os.path.join(jdir, "out.log"), "w") as out:
        proc = subprocess.Popen(["bash", "-c", script], cwd=jdir, env=_job_env(), stdout=out,
                                stderr=subprocess.STDOUT, process_group=0)
    with open(os.path.join(jdir, "pid"), "w") as f:
        f.write(str(proc.pid))


def _attempts(task_dir: str, index: int) -> list[str]:
    prefix = f"job{index}.a"
    found = [d for d in os.listdir(task_dir) if d.startswith(prefix)]
    return sorted(found, key=lambda d: int(d[len(prefix):]))


def _rc(jdir: str) -> str | None:
    path = os.path.join(jdir, "rc")
    if os.path.exists(path):
        return open(path).read().strip()
    pid_file = os.path.join(jdir, "pid")
    if os.path.exists(pid_file):  # the job's shell died without writing rc (killed)
        pid = int(open(pid_file).read())
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return "killed"
    return None


class LocalSubmitterPoller(BaseSubmitterPoller):
    """Runs each job of a task locally; see the module docstring."""

    def submit(self, work, logger=None, log_prefix=""):
        tp = self.get_task_params(work)
        task_id = int(time.time() * 1000) % 1_000_000_000
        task_dir = os.path.join(_jobs_dir(), str(task_id))
        while os.path.exists(task_dir):
            task_id += 1
            task_dir = os.path.join(_jobs_dir(), str(task_id))
        os.makedirs(task_dir)
        value = tp["jobParameters"][0]["value"]
        pfns = tp.get("pfnList") or ['"pseudo_file"']
        jobs = []
        for pfn in pfns:
            # a single-job work has no real input: "${IN/T}" becomes an empty argument
            sub = "''" if len(pfns) == 1 else shlex.quote(pfn)
            jobs.append(value.replace('"${IN/T}"', sub).replace("${IN/L}", sub))
        with open(os.path.join(task_dir, "task_params.json"), "w") as f:
            json.dump({k: v for k, v in tp.items() if k != "jobParameters"}, f, default=str)
        with open(os.path.join(task_dir, "launch.json"), "w") as f:
            json.dump({"jobs": jobs, "max_attempt": int(tp.get("maxAttempt") or 1)}, f)
        for i, args in enumerate(jobs):
            _launch(task_dir, i, 1, args)
        if logger:
            logger.info(log_prefix + f"LocalSubmitterPoller started {len(jobs)} job(s) as task {task_id}")
        return task_id, None

    def poll(self, workload_id, logger=None, log_prefix=""):
        task_dir = os.path.join(_jobs_dir(), str(workload_id))
        if os.path.exists(os.path.join(task_dir, "aborted")):
            return ProcessingStatus.Cancelled
        launch = json.load(open(os.path.join(task_dir, "launch.json")))
        running, failed = False, 0
        for i, args in enumerate(launch["jobs"]):
            attempts = _attempts(task_dir, i)
            rc = _rc(os.path.join(task_dir, attempts[-1]))
            if rc is None:
                running = True
            elif rc != "0":
                if len(attempts) < launch["max_attempt"]:  # JEDI retries a failed job
                    _launch(task_dir, i, len(attempts) + 1, args)
                    running = True
                else:
                    failed += 1
        if running:
            return ProcessingStatus.Running
        if failed == 0:
            return ProcessingStatus.Finished
        return ProcessingStatus.SubFinished if failed < len(launch["jobs"]) else ProcessingStatus.Failed

    def abort(self, workload_id, logger=None, log_prefix=""):
        task_dir = os.path.join(_jobs_dir(), str(workload_id))
        open(os.path.join(task_dir, "aborted"), "w").close()
        for d in os.listdir(task_dir):
            pid_file = os.path.join(task_dir, d, "pid")
            if os.path.exists(pid_file) and not os.path.exists(os.path.join(task_dir, d, "rc")):
                try:
                    os.killpg(int(open(pid_file).read()), signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    pass
        return ProcessingStatus.Cancelled

    def resume(self, workload_id, logger=None, log_prefix=""):
        return ProcessingStatus.Running
