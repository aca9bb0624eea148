"""A driver that dies between ``sbatch`` and storing the job id must not cause a second job.

The study stores an intent (the call's label) before a durable runner submits; on resume the
SLURM runner finds the orphaned job by its name and adopts it."""

from __future__ import annotations

import pytest

from detopt.launch import new_study, resume_study
from detopt.config import parse_config
from detopt.trial import TrialStatus
from studies import CUSTOM, config, sacct_jobs, slurm_runner, stored, wait_for

pytestmark = [pytest.mark.slurm]


class DriverDied(BaseException):
    """Stands in for SIGKILL at the worst moment (BaseException: nothing may catch it)."""


def test_a_job_submitted_just_before_the_driver_died_is_adopted_not_resubmitted(slurm_env, tmp_path):
    cfg = config(CUSTOM, tmp_path, slurm_runner(tmp_path),
                 problem={"evaluate_options": {"seconds": 3.0}},
                 study={"max_trials": 3, "concurrency": 2})
    study = new_study(parse_config(cfg, base_dir=tmp_path))
    save = study.storage.save_trial

    def save_then_die(study_id, trial):
        handle = trial.runner_handle or ""
        if trial.index == 1 and trial.status == TrialStatus.RUNNING and not handle.startswith("intent:"):
            raise DriverDied  # sbatch has returned; the job id is never stored
        save(study_id, trial)

    study.storage.save_trial = save_then_die
    with pytest.raises(DriverDied):
        study.run()
    study.runner.close()  # the dead driver's jobs keep running in SLURM
    before, _ = stored(cfg)
    assert before[1].status == TrialStatus.RUNNING and before[1].runner_handle.startswith("intent:")
    orphan = wait_for(lambda: [j for j in sacct_jobs(cfg["name"]) if j["name"].endswith(".t1.a1")],
                      60, "the orphaned job in accounting")

    resumed = resume_study(cfg["storage"], cfg["name"])
    outcome = resumed.run()
    resumed.close()
    assert outcome.status == "finished"
    trials, attempts = stored(cfg)
    assert all(t.status == TrialStatus.COMPLETED for t in trials.values())
    assert trials[1].metrics["job_id"][0] == float(orphan[0]["job_id"]), "the orphan's result is used"
    assert [a["status"] for a in attempts if a["trial_index"] == 1] == ["completed"]
    jobs = wait_for(lambda: len(sacct_jobs(cfg["name"])) >= 3 and sacct_jobs(cfg["name"]), 60,
                    "accounting of all jobs")
    assert sorted(j["name"] for j in jobs) == [f"{cfg['name']}.t{i}.a1" for i in range(3)]
