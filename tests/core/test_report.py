"""The HTML report and the CSV export of a real (small) study."""

import pandas as pd

from detopt.report import write_report
from detopt.report.history import hypervolume_history
from studykit import make_study


def test_report_has_plots_tables_and_csv(tmp_path, runner):
    study = make_study(f"sqlite:///{tmp_path}/r.db", "dtlz2", runner, optimizer="nsga2",
                       max_trials=30, concurrency=2)
    study.run()
    index = write_report(study, tmp_path / "report")
    html = index.read_text()
    assert html.count("data:image/png;base64") == 3  # hypervolume, Pareto front, parameters
    assert "Pareto designs" in html and "HV / true-front HV" in html
    for png in ("hypervolume.png", "pareto.png", "parameters.png"):
        assert (tmp_path / "report" / png).stat().st_size > 10_000
    frame = pd.read_csv(tmp_path / "report" / "trials.csv")
    assert len(frame) == 30 and {"x1", "f1", "f1_sem", "pareto", "duration_s"} <= set(frame.columns)
    assert frame["pareto"].sum() == len(study.pareto_trials())


def test_hypervolume_history_is_monotone_and_ends_at_the_study_value(tmp_path, runner):
    study = make_study(f"sqlite:///{tmp_path}/h.db", "dtlz2", runner, optimizer="sobol",
                       max_trials=25, concurrency=2)
    study.run()
    history = hypervolume_history(list(study.trials.values()), study.problem.objectives,
                                  study.reference_point, study.tracker.true_hypervolume)
    assert len(history) == 25 and list(history[:, 0]) == list(range(1, 26))
    assert all(b >= a for a, b in zip(history[:-1, 1], history[1:, 1]))
    assert history[-1, 1] == study.normalized_hypervolume
