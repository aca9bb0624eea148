"""The progress display when the output is not a terminal: plain lines, not a silent bar."""

from io import StringIO

from rich.console import Console

from detopt.progress import StudyProgress
from detopt.study import Snapshot


def snapshot(completed: int, failed: int = 0, budget: int | None = 50, **kw) -> Snapshot:
    return Snapshot(completed=completed, failed=failed, running=2, queued=0, budget=budget,
                    hypervolume=None, normalized_hypervolume=kw.get("hvn"), elapsed=1.0,
                    stop_reason=kw.get("stop"))


def test_a_pipe_gets_a_line_every_tenth_of_the_budget_and_at_the_end():
    out = StringIO()
    with StudyProgress("dtlz2", Console(file=out, width=200), line_interval=1e9) as bar:
        for done in range(0, 48):
            bar(snapshot(done, failed=0, hvn=done / 100))
        bar(snapshot(48, failed=2, hvn=0.5, stop="trial budget reached"))
    lines = out.getvalue().splitlines()
    # the start, 5, 10, ..., 45 and the end (50 finished of 50)
    assert [line.split()[1] for line in lines] == (
        ["0/50"] + [f"{n}/50" for n in range(5, 50, 5)] + ["50/50"])
    assert "2 failed" in lines[-1] and "HV/HV* 0.5000" in lines[-1]


def test_a_pipe_gets_a_line_after_the_interval_even_without_a_budget():
    out = StringIO()
    with StudyProgress("open-ended", Console(file=out, width=200), line_interval=0.0) as bar:
        bar(snapshot(0, budget=None))
        bar(snapshot(0, budget=None))  # nothing new finished: no line
        bar(snapshot(1, budget=None))
    assert [line.split()[1] for line in out.getvalue().splitlines()] == ["0", "1"]
