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
import_app = typer.Typer(help="Convert other tools' configurations into detopt study files.",
                         no_args_is_help=True)
app.add_typer(import_app, name="import")
bic_app = typer.Typer(help="The fast ePIC BIC simulation: draw a design.", no_args_is_help=True)
app.add_typer(bic_app, name="bic")

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
    if outcome.status.value == "interrupted":
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
    table.add_row("study", escape(f"{study.name} ({outcome.status.value}: {outcome.stop_reason})"))
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
    check_ref = problem.space.check_reference
    check_text = f", design check {check_ref}" if check_ref else ""
    plan = getattr(problem.evaluation, "plan", None)
    if plan is not None:
        check_text += f", pipeline of {len(plan.stages)} stages ({len(plan.edits)} geometry edits)"
    out.print("[green]ok[/]: " + escape(f"study {cfg.name!r}: {problem.space.dim} parameters, "
              f"{len(problem.space.constraints)} linear constraints{check_text}, "
              f"{len(problem.objectives)} objectives, optimizer {cfg.optimizer.name}, "
              f"runner {cfg.runner.kind}"))


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
    from detopt.launch import open_readonly

    try:
        study = open_readonly(target, study_name)
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
    from detopt.launch import open_readonly
    from detopt.report import write_report

    try:
        study = open_readonly(target, study_name)
        path = write_report(study, output or _report_dir(study))
        study.storage.close()
    except DetoptError as exc:
        _fail(exc)
    out.print(f"report: {path}")


def _plain(text: str) -> str:
    """Docstring text without reST/rich markup, for plain listings."""
    import re

    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text)         # :class:`x` -> x
    text = re.sub(r"\[/?[a-z ]*\]", "", text)                # [bold] ... [/]
    return text.replace("``", "").replace("`", "")


def _list_plugins(kind: str, with_options: bool) -> None:
    """Plain text (no markup): name, package, and optionally each option with its default."""
    from detopt import plugins

    for name, info in sorted(plugins.installed(kind).items()):  # type: ignore[arg-type]
        line = f"{info.name}  ({info.package} {info.version})"
        if not with_options:
            typer.echo(line)
            continue
        try:
            obj = plugins.load(kind, name)  # type: ignore[arg-type]
        except DetoptError as exc:
            typer.echo(f"{line}: cannot be loaded: {exc}")
            continue
        doc = _plain(" ".join((obj.__doc__ or "").strip().split("\n\n")[0].split()))
        typer.echo(f"{line}: {doc}" if doc else line)
        for option, default, description in plugins.option_rows(obj.Options):
            typer.echo(f"    {option} = {default}" + (f"  {_plain(description)}" if description else ""))


@app.command()
def plugins(
    kind: Annotated[Optional[str], typer.Argument(help="optimizer, runner or problem (default: all).")] = None,
    options: Annotated[bool, typer.Option("--options/--no-options", help="List each plugin's options.")] = False,
) -> None:
    """List the installed plugins (optimizers, runners, problems) and the package of each."""
    from detopt.plugins import GROUPS

    kinds = list(GROUPS) if kind is None else [kind.rstrip("s")]
    for k in kinds:
        if k not in GROUPS:
            _fail(DetoptError(f"unknown plugin kind {kind!r}.", field="KIND",
                              fix="use optimizer, runner or problem"))
        typer.echo(f"{k}s (entry points '{GROUPS[k]}'):")
        _list_plugins(k, options)


@app.command()
def problems() -> None:
    """List the installed problems (built-in and plugins) and their options."""
    _list_plugins("problem", with_options=True)


@app.command()
def optimizers() -> None:
    """List the installed optimizers and their options."""
    _list_plugins("optimizer", with_options=True)


@app.command()
def runners() -> None:
    """List the installed runners and their options."""
    _list_plugins("runner", with_options=True)


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
        from detopt.problems.drich.parameters import parse_params

        params = {**drich.NOMINAL, **parse_params(param)}
        path = drich.draw_design(params, output, preset=preset, seed=seed)
    except DetoptError as exc:
        _fail(exc)
    out.print(f"wrote {path}")


@import_app.command("aid2e")
def import_aid2e(
    files: Annotated[list[Path], typer.Argument(help="AID2E files: design.params, problem.config, "
                                                     "full configurations, workflow.yml.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The detopt study file to write.")],
    name: Annotated[Optional[str], typer.Option(help="Study name (default: the problem's).")] = None,
    geometry: Annotated[Optional[Path], typer.Option(help="Detector description folder that the "
                        "parameters' XML edits apply to (e.g. <epic install>/share/epic).")] = None,
    xml_file: Annotated[Optional[str], typer.Option(help="XML file (inside --geometry) for "
                        "parameters without file_path, e.g. compact/pid/drich.xml.")] = None,
    workflow: Annotated[Optional[str], typer.Option(help="Workflow to convert (default: the first).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite OUTPUT.")] = False,
) -> None:
    """Convert AID2E configuration files into one detopt study and validate it.

    Prints what could not be mapped, with the reason, and what was mapped with a change.
    Example: [bold]detopt import aid2e design.params workflow.yml -o study.yaml[/]
    """
    from detopt.importers import convert
    from detopt.importers.output import check, render

    try:
        if output.exists() and not force:
            raise DetoptError(f"{output} exists.", field="--output", fix="choose another file or "
                              "add --force")
        conversion = convert(files, name=name, geometry=geometry, xml_file=xml_file,
                             workflow=workflow)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(render(conversion, files))
    except DetoptError as exc:
        _fail(exc)
    study = conversion.study
    out.print(f"wrote {output}: study {study['name']!r}, {len(study['problem']['parameters'])} "
              f"parameters, {len(study['problem']['pipeline']['stages'])} stages, optimizer "
              f"{study['optimizer']['name']}, runner {study['runner']['kind']}", markup=False,
              highlight=False, soft_wrap=True)
    for title, notes in (("not mapped", conversion.not_mapped),
                         ("mapped with a change", conversion.changed)):
        if notes:
            out.print(f"{title} ({len(notes)}):")
            for note in notes:
                out.print(f"  - {note}", markup=False, highlight=False, soft_wrap=True)
    problem = check(output)
    if problem is not None:
        err.print(f"error: the converted study does not validate: {problem}", markup=False,
                  highlight=False, soft_wrap=True)
        raise typer.Exit(code=2)
    out.print(f"ok: {output} validates", markup=False, highlight=False, soft_wrap=True)


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
@bic_app.command("show")
def bic_show(
    output: Annotated[Path, typer.Option("--out", "-o", help="PNG file to write.")] = Path("bic.png"),
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="Override a parameter, "
                     "e.g. -p enable_staves_2=1 (repeatable).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the drawn shower.")] = 1,
) -> None:
    """Draw one BIC design: the layer stack with a shower and its hits, and the e/pi profiles."""
    from detopt.problems.bic.cli import show

    try:
        path = show(param or [], output, seed=seed)
    except DetoptError as exc:
        _fail(exc)
    out.print(f"wrote {path}")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
