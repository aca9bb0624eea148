"""The ``detopt`` command line.

Every user error (bad config, unknown study, malformed constraint) prints one or two lines
naming the field and the fix, without a traceback, and exits with status 2.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from detopt.errors import DetoptError

app = typer.Typer(
    name="detopt", no_args_is_help=True, add_completion=False, rich_markup_mode="rich",
    help="AI-assisted multi-objective design optimization for detectors.\n\n"
         "Describe a design space, objectives and an evaluation in a YAML file, then "
         "[bold]detopt run CONFIG[/]. Every trial is stored; [bold]detopt resume[/] continues "
         "a study whose driver stopped.")
drich_app = typer.Typer(help="The dRICH simulation: draw a design, simulate it (fast or "
                        "Geant4), validate the fast model against Geant4.",
                        no_args_is_help=True)
app.add_typer(drich_app, name="drich")

out = Console()
err = Console(stderr=True)

StudyOption = Annotated[Optional[str], typer.Option("--study", "-s", help="Study name (needed "
                        "when the storage holds several).")]
TargetArgument = Annotated[str, typer.Argument(help="The study's YAML file, or its storage "
                           "(SQLite file or database URL).", metavar="CONFIG_OR_STORAGE")]


def _fail(exc: DetoptError) -> None:
    # escape: messages hold brackets (e.g. "pip install 'detopt[geant4]'") that are not markup
    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


# ------------------------------------------------------------------------------ run
def _run_and_report(study: Any, progress: bool, report: bool) -> None:
    from detopt.progress import StudyProgress

    try:
        if progress:
            with StudyProgress(study.name, err) as bar:
                study.observers.append(bar)
                outcome = study.run()
        else:
            outcome = study.run()
        _summary(study, outcome)
        if report:
            from detopt.report import write_report

            directory = _report_dir(study)
            path = write_report(study, directory)
            out.print(f"report: {path}")
    finally:
        study.close()
    if outcome.status == "interrupted":
        out.print("Interrupted; everything is stored. Continue with: "
                  f"[bold]detopt resume {study.storage.url} --study {study.name}[/]")
        raise typer.Exit(code=130)


def _report_dir(study: Any) -> Path:
    config = study.config
    if config is not None and config.report.directory:
        base = Path(config.base_dir or ".")
        return (base / config.report.directory).resolve()
    url = study.storage.url
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).parent / f"{study.name}-report"
    return Path.cwd() / f"{study.name}-report"


def _summary(study: Any, outcome: Any) -> None:
    counts = study.counts()
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("study", f"{study.name} ({outcome.status}: {outcome.stop_reason})")
    table.add_row("trials", f"{counts['completed']} completed, {counts['failed']} failed, "
                            f"{counts['pending'] + counts['running']} unfinished")
    table.add_row("this run", f"{outcome.trials_finished} trials finished in {outcome.elapsed:.1f} s")
    table.add_row("Pareto set", f"{len(study.tracker.front_ids)} designs")
    if study.hypervolume is not None:
        table.add_row("hypervolume", f"{study.hypervolume:.6g}")
    igd = study.igd_plus()
    if igd is not None:
        table.add_row("IGD+", f"{igd:.4g} (distance to the true front)")
    out.print(table)
    if study.normalized_hypervolume is not None:
        out.print(f"normalized hypervolume against the true front: "
                  f"[bold]{study.normalized_hypervolume:.4f}[/]")


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Study configuration (YAML).", metavar="CONFIG")],
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    report: Annotated[bool, typer.Option(help="Write the HTML report at the end.")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every retry and event.")] = False,
) -> None:
    """Start a new study from CONFIG and run it until a stop rule fires.

    Example: [bold]detopt run examples/dtlz2.yaml[/]
    """
    _setup_logging(verbose)
    from detopt.launch import new_study

    try:
        study = new_study(config)
        _run_and_report(study, progress, report)
    except DetoptError as exc:
        _fail(exc)


@app.command()
def resume(
    target: TargetArgument,
    study_name: StudyOption = None,
    max_trials: Annotated[Optional[int], typer.Option(help="New trial budget.")] = None,
    max_wall_time: Annotated[Optional[str], typer.Option(help="New wall-clock limit, e.g. 2h.")] = None,
    concurrency: Annotated[Optional[int], typer.Option(help="Trials in flight at once.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    report: Annotated[bool, typer.Option(help="Write the HTML report at the end.")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Continue a stored study after a crash, Ctrl-C or a stop rule.

    Completed trials are kept, interrupted ones run again, and work still running on a
    cluster is re-attached. Stop rules can be changed with the options below.

    Example: [bold]detopt resume runs/dtlz2.db --max-trials 200[/]
    """
    _setup_logging(verbose)
    from detopt.launch import resume_study

    overrides = {"max_trials": max_trials, "max_wall_time": max_wall_time, "concurrency": concurrency}
    try:
        study = resume_study(target, study_name, overrides)
        _run_and_report(study, progress, report)
    except DetoptError as exc:
        _fail(exc)


@app.command()
def validate(config: Annotated[Path, typer.Argument(help="Study configuration (YAML).",
                                                    metavar="CONFIG")]) -> None:
    """Check CONFIG without running anything (schema, parameters, constraints, optimizer)."""
    from detopt.config import load_config
    from detopt.config import validate as check

    try:
        cfg = load_config(config)
        problem = check(cfg)
    except DetoptError as exc:
        _fail(exc)
    check_text = ""
    if problem.space.check is not None:
        name = problem.space.check if isinstance(problem.space.check, str) else \
            getattr(problem.space.check, "__name__", "a function")
        check_text = f", design check {name}"
    out.print(f"[green]ok[/]: study {cfg.name!r}: {problem.space.dim} parameters, "
              f"{len(problem.space.constraints)} linear constraints{check_text}, "
              f"{len(problem.objectives)} objectives, optimizer {cfg.optimizer.name}, "
              f"runner {cfg.runner.kind}")


@app.command()
def status(target: TargetArgument, study_name: StudyOption = None,
           failures: Annotated[int, typer.Option(help="How many recent failures to list.")] = 5,
           ) -> None:
    """Show the studies in a storage: state, trial counts, hypervolume, recent failures."""
    from detopt.inspect import open_storage, study_overview

    try:
        storage = open_storage(target)
        try:
            studies = storage.list_studies()
            if study_name is not None:
                studies = [s for s in studies if s.name == study_name]
                if not studies:
                    raise DetoptError(f"no study named {study_name!r}.", field="--study",
                                      fix="run 'detopt status' without --study to list them")
            if not studies:
                out.print("no studies stored yet")
            for record in studies:
                study_overview(storage, record, out, failures=failures)
        finally:
            storage.close()
    except DetoptError as exc:
        _fail(exc)


@app.command()
def export(target: TargetArgument, study_name: StudyOption = None,
           csv: Annotated[Path, typer.Option("--csv", help="Write all trials to this CSV file.")] = Path("trials.csv"),
           ) -> None:
    """Export every trial (parameters, metrics with sems, status, timings, errors) as CSV."""
    from detopt.export import write_csv
    from detopt.inspect import load_study_readonly

    try:
        study = load_study_readonly(target, study_name)
        frame = study.trials_dataframe()
        path = write_csv(frame, csv)
        study.storage.close()
    except DetoptError as exc:
        _fail(exc)
    out.print(f"wrote {len(frame)} trials to {path}")


@app.command()
def report(target: TargetArgument, study_name: StudyOption = None,
           output: Annotated[Optional[Path], typer.Option("--out", "-o", help="Report folder.")] = None,
           ) -> None:
    """Write the HTML report (hypervolume curve, Pareto front, parameters, failures)."""
    from detopt.inspect import load_study_readonly
    from detopt.report import write_report

    try:
        study = load_study_readonly(target, study_name)
        path = write_report(study, output or _report_dir(study))
        study.storage.close()
    except DetoptError as exc:
        _fail(exc)
    out.print(f"report: {path}")


@app.command()
def problems() -> None:
    """List the built-in problems."""
    from detopt.problems.registry import available_problems

    for name in available_problems():
        out.print(name)


@app.command()
def optimizers() -> None:
    """List the optimizers and their options."""
    from detopt.optimizers.base import available_optimizers, optimizer_class

    for name in available_optimizers():
        cls = optimizer_class(name)
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        out.print(f"[bold]{name}[/]: {doc}")
        for field, info in cls.Options.model_fields.items():
            default = info.default if info.default is not None else "auto"
            desc = f" — {info.description}" if info.description else ""
            out.print(f"    {field} = {default}{desc}", highlight=False)


@drich_app.command("show")
def drich_show(
    output: Annotated[Path, typer.Option("--out", "-o", help="PNG file to write.")] = Path("drich.png"),
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="Override a parameter, "
                     "e.g. -p mirror_radius=200 (repeatable).")] = None,
    preset: Annotated[str, typer.Option(help="pure or aid2e_calibrated.")] = "aid2e_calibrated",
    seed: Annotated[int, typer.Option(help="Random seed of the traced photons.")] = 1,
) -> None:
    """Draw one dRICH design: side view of a sector with traced photons, and the ring hit map."""
    from detopt.problems import drich

    try:
        params = dict(drich.NOMINAL)
        for item in param or []:
            name, sep, value = item.partition("=")
            if not sep:
                raise DetoptError(f"{item!r} is not NAME=VALUE.", field="--param",
                                  fix="write e.g. -p mirror_radius=200")
            try:
                params[name.strip()] = float(value)
            except ValueError:
                raise DetoptError(f"{value!r} is not a number.", field=f"--param {name}",
                                  fix="give a number") from None
        path = drich.draw_design(params, output, preset=preset, seed=seed)
    except DetoptError as exc:
        _fail(exc)
    out.print(f"wrote {path}")


@drich_app.command("simulate")
def drich_simulate(
    objectives_out: Annotated[Path, typer.Option("--objectives", help="JSON file to write.")],
    fidelity: Annotated[str, typer.Option(help="fast or geant4 (extra detopt[geant4]).")] = "fast",
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="Override a "
                     "parameter, e.g. -p mirror_radius=200 (repeatable).")] = None,
    hits: Annotated[Optional[Path], typer.Option(help="Parquet file for the Geant4 hits.")] = None,
    preset: Annotated[str, typer.Option(help="pure or aid2e_calibrated.")] = "aid2e_calibrated",
    tracks: Annotated[int, typer.Option(help="Tracks per scan point and species.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 12345,
) -> None:
    """Simulate one dRICH design as a standalone step: objectives (JSON) and, at Geant4
    fidelity, its overlap check and the sensor hits (Parquet)."""
    from detopt.problems.drich.g4 import commands

    try:
        record = commands.simulate(commands.parse_params(param), fidelity=fidelity,
                                   objectives_path=objectives_out, hits_path=hits, preset=preset,
                                   tracks=tracks, seed=seed, objectives=None)
    except DetoptError as exc:
        _fail(exc)
    if fidelity == "geant4" and not record["feasible"]:
        out.print("infeasible (Geant4 overlap check): "
                  + "; ".join(o["text"] for o in record["overlaps"]), highlight=False)
    for name, (mean, sem) in record["objectives"].items():
        out.print(f"{name} = {mean:.4g} ± {sem:.2g}", highlight=False)
    out.print(f"wrote {objectives_out}" + (f" and {hits}" if hits else ""))


@drich_app.command("validate")
def drich_validate(
    output: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path(
        "drich-validation"),
    designs: Annotated[int, typer.Option(help="Designs: nominal + random feasible.")] = 20,
    tracks: Annotated[int, typer.Option(help="Tracks per point and species.")] = 100,
    nominal_tracks: Annotated[int, typer.Option(help="Tracks for the nominal design.")] = 500,
    overlap_designs: Annotated[int, typer.Option(help="Extra random designs (whole box) for "
                               "the overlap comparison.")] = 100,
    preset: Annotated[str, typer.Option(help="pure or aid2e_calibrated.")] = "pure",
    seed: Annotated[int, typer.Option(help="Random seed of the tracks.")] = 12345,
    objective: Annotated[Optional[list[str]], typer.Option(help="Compare only these objectives "
                         "(only their scan points are simulated; default AID2E's three).")] = None,
) -> None:
    """Run N designs at both fidelities (fast and Geant4) and write a comparison report."""
    from detopt.problems.drich.g4 import commands

    try:
        summary = commands.validate(output, n_designs=designs, tracks=tracks,
                                    nominal_tracks=nominal_tracks,
                                    overlap_designs=overlap_designs, preset=preset, seed=seed,
                                    objectives=objective,
                                    log=lambda line: err.print(line, highlight=False))
    except DetoptError as exc:
        _fail(exc)
    out.print((output / "report.md").read_text(), highlight=False)
    out.print(f"wrote {output}/report.md, summary.json and {len(summary['plots'])} plots")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
