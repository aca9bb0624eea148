"""Writing a converted study: YAML with a header naming the sources and every note, then
checked exactly as ``detopt validate`` checks a study file."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import yaml

from detopt.errors import DetoptError
from detopt.importers.aid2e import Conversion, Note


class _NoAliases(yaml.SafeDumper):
    """Writes a repeated section out each time (no &anchors), as a person would."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _comment(title: str, notes: Sequence[Note]) -> list[str]:
    if not notes:
        return []
    lines = [f"# {title}:"]
    for note in notes:
        wrapped = textwrap.wrap(str(note), width=96, initial_indent="#   - ",
                                subsequent_indent="#     ")
        lines += wrapped
    return lines


def render(conversion: Conversion, sources: Sequence[Path], tool: str = "aid2e") -> str:
    """The YAML text of a converted study, with the notes as a header comment."""
    header = [f"# Converted by 'detopt import {tool}' from:"]
    header += [f"#   {Path(s).resolve()}" for s in sources]
    header += _comment("Not mapped", conversion.not_mapped)
    header += _comment("Mapped with a change", conversion.changed)
    body = yaml.dump(conversion.study, Dumper=_NoAliases, sort_keys=False, allow_unicode=True,
                     width=100)
    return "\n".join(header) + "\n\n" + body


def check(path: Path) -> DetoptError | None:
    """The error ``detopt validate`` would report for the written file, or ``None``."""
    from detopt.config import load_config, validate

    try:
        validate(load_config(path))
    except DetoptError as exc:
        return exc
    return None
