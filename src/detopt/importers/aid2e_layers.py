"""AID2E's ePIC stack layers (geo/sim/rec/ana, ``EpicStack``) → one pipeline stage per layer.

Upstream a stack job writes one shell script that sources ``thisepic.sh`` and runs the layers
in turn (aid2e-upstream reference §2.4). Here each layer is a stage with the upstream job's
fan-out, so every simulation job is its own runner call, and a layer's inputs that an earlier
layer wrote are read from that layer's job folder:

- ``geo``: ``checkOverlaps -c <compact>``; the design is infeasible unless the output says
  ``Number of illegal overlaps/extrusions : 0`` (a gate, as upstream's exit 9);
- ``sim``: ``npsim --compactFile <compact>`` with ``--steeringFile X -G`` (``.py``), ``-I X``
  (``.hepmc``, ``.hepmc3.root``) or ``--macroFile X --enableG4GPS`` (``.mac``) per input, and
  ``--outputFile``;
- ``rec``: ``eicrecon <arguments> -Ppodio:output_file=<output> <inputs>``;
- ``ana``: the layer's own ``command``/``rule``.
"""

from __future__ import annotations

import copy
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

OVERLAP_LINE = "Number of illegal overlaps/extrusions : 0"


def layer_stages(layers: Sequence[Mapping[str, Any]], base: Mapping[str, Any], name: str,
                 tr: Any, epic: Mapping[str, Any], source: Path, key: str, notes: Any
                 ) -> list[dict[str, Any]]:
    """The stages of one stack job's layers (``base``: the fields every layer stage shares)."""
    from detopt.importers.aid2e_workflow import _PLACEHOLDER, _identifier

    produced: dict[str, str] = {}  # file name -> the stage that writes it
    compact = None
    if tr.has_geometry and epic.get("config"):
        compact = "{{ geometry.dir }}/" + f"{epic['config']}.xml"
    elif not tr.has_geometry:
        notes.cannot(source, key, "stack layers need the compact file: give --geometry DIR "
                     "(and epic_config in epic_environment)")
    setup = None
    if epic.get("install"):
        setup = {"script": str(Path(epic["install"]) / "bin" / "thisepic.sh"),
                 "args": [str(epic["config"])] if epic.get("config") else []}

    def ref(text: str) -> str:
        text = tr.text(str(text))
        writer = produced.get(Path(text).name)
        if writer is not None and not Path(text).is_absolute():
            return "{{ stages.%s.jobs[job.index].workdir }}/%s" % (writer, text)
        return text

    def ref_translated(text: str) -> str:
        writer = produced.get(Path(text).name)
        if writer is not None and not Path(text).is_absolute() and "/" not in text:
            return "{{ stages.%s.jobs[job.index].workdir }}/%s" % (writer, text)
        return text

    out: list[dict[str, Any]] = []
    for i, layer in enumerate(layers):
        kind = str(layer.get("layer") or "")
        lname = _identifier(f"{name}_{layer.get('name') or kind or i}")
        where = f"{key}.layers[{i}] ({layer.get('name') or kind})"
        inputs = [ref(x) for x in layer.get("inputs") or []]
        outputs = [tr.text(str(x)) for x in layer.get("outputs") or []]
        args = [tr.text(t) for a in layer.get("arguments") or [] for t in shlex.split(str(a))]
        stage = {**copy.deepcopy(dict(base)), "name": lname}
        if kind == "geo":
            xml = inputs[0] if inputs else compact
            if xml is None:
                notes.cannot(source, where, "no compact file to check; layer left out")
                continue
            stage["command"] = ["checkOverlaps", *args, "-c", xml]
            stage["gate"] = {"require": OVERLAP_LINE + "$", "message": "checkOverlaps found "
                             "overlaps"}
        elif kind == "sim":
            if compact is None:
                notes.cannot(source, where, "no compact file for npsim; layer left out")
                continue
            command = ["npsim", "--compactFile", compact]
            for inp in inputs:
                if inp.endswith(".py"):
                    command += ["--steeringFile", inp, "-G"]
                elif inp.endswith((".hepmc", ".hepmc3.root")):
                    command += ["-I", inp]
                elif inp.endswith(".mac"):
                    command += ["--macroFile", inp, "--enableG4GPS"]
                else:
                    notes.cannot(source, where, f"input {inp!r} is none of .py, .hepmc, "
                                 ".hepmc3.root, .mac; not passed")
            command += args
            if outputs:
                command += ["--outputFile", outputs[0]]
            stage["command"] = command
        elif kind == "rec":
            if not outputs:
                notes.cannot(source, where, "a rec layer without an output; layer left out")
                continue
            stage["command"] = ["eicrecon", *args, f"-Ppodio:output_file={outputs[0]}", *inputs]
        elif kind == "ana":
            command = str(layer.get("command") or "")
            argv = tr.argv(str(layer.get("rule") or command), command)
            if not argv:
                continue
            stage["command"] = [ref_translated(t) for t in argv]
        else:
            notes.cannot(source, where, f"unknown layer kind {kind!r}; left out")
            continue
        if setup and kind != "ana":
            stage["setup"] = setup
        if outputs:
            raw = [_PLACEHOLDER.sub("", str(x)) for x in layer.get("outputs") or []]
            stage["outputs"] = {**stage.get("outputs", {}), **{
                _identifier(Path(r).name.split(".")[0] or f"out{j}"): {"path": o, "format": "path"}
                for j, (r, o) in enumerate(zip(raw, outputs))}}
        for o in outputs:
            produced[Path(o).name] = lname
        out.append(stage)
    if out:
        notes.changed_(source, key, "stack layers → one stage per layer (checkOverlaps gate, "
                       "npsim, eicrecon, analysis), each with the job's fan-out")
    return out
