"""Reading declared outputs: JSON, YAML, CSV, ROOT (through uproot), text and plain paths.

An output is read inside the job, where the file is, and travels back as plain data (numbers,
short lists, mappings). Whatever cannot be read — a missing file, a missing key, a column of
text where numbers are expected — fails the job with :class:`~detopt.errors.InvalidResultError`
naming the file and the key, and is not retried.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from detopt.errors import InvalidResultError

#: arrays longer than this must be reduced (``reduce: mean`` ...): results stay small
MAX_ELEMENTS = 10_000
MAX_TEXT = 100_000
_SUFFIX_FORMAT = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".csv": "csv", ".root": "root"}


def output_format(spec: Mapping[str, Any]) -> str:
    """The declared format, else the one the file suffix implies, else ``text``."""
    if spec.get("format"):
        return str(spec["format"])
    return _SUFFIX_FORMAT.get(Path(str(spec["path"])).suffix.lower(), "text")


def read_output(name: str, path: Path, spec: Mapping[str, Any]) -> Any:
    """The value of output ``name`` (declared by ``spec``) from the file at ``path``."""
    fmt = output_format(spec)
    where = f"output {name!r} ({path})"
    if not path.exists():
        raise InvalidResultError(f"{where}: the file does not exist")
    if fmt == "path":
        return str(path)
    try:
        if fmt in ("json", "yaml"):
            value = select(_load_document(path, fmt), spec.get("key"), where)
        elif fmt == "csv":
            value = _csv(path, spec.get("key"), where)
        elif fmt == "root":
            value = _root(path, spec, where)
        else:
            value = _text(path, spec.get("pattern"), where)
    except InvalidResultError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parse failure names the file
        raise InvalidResultError(f"{where}: cannot read it as {fmt}: {type(exc).__name__}: {exc}"
                                 ) from None
    return _reduce(value, spec.get("reduce") or "none", where)


def _load_document(path: Path, fmt: str) -> Any:
    text = path.read_text()
    if fmt == "json":
        return json.loads(text)
    import yaml

    return yaml.safe_load(text)


def select(document: Any, key: str | None, where: str) -> Any:
    """Follow a dotted key (``a.b.0``) into nested mappings and lists; ``where`` names the
    value in the error."""
    if not key:
        return document
    value = document
    for i, part in enumerate(key.split(".")):
        done = ".".join(key.split(".")[:i])
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() \
                and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            have = ", ".join(map(str, value)) if isinstance(value, Mapping) else type(value).__name__
            at = f" under {done!r}" if done else ""
            raise InvalidResultError(f"{where}: key {key!r} not found: no {part!r}{at} "
                                     f"(there: {have})")
    return value


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _csv(path: Path, key: str | None, where: str) -> Any:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if key is None:
        return [{k: _number(v) for k, v in row.items()} for row in rows]
    if rows and key not in rows[0]:
        raise InvalidResultError(f"{where}: column {key!r} not found (columns: {', '.join(rows[0])})")
    column = []
    for i, row in enumerate(rows):
        value = _number(row[key])
        if isinstance(value, str):
            raise InvalidResultError(f"{where}: column {key!r}, row {i + 1}: {value!r} is not a number")
        column.append(value)
    return column


def _root(path: Path, spec: Mapping[str, Any], where: str) -> Any:
    import uproot

    tree_name, branch = spec.get("tree"), spec.get("branch")
    key = spec.get("key")
    if key and not tree_name:
        tree_name, _, branch = str(key).rpartition("/")
        if not tree_name:
            tree_name, branch = branch, None
    if not tree_name:
        raise InvalidResultError(f"{where}: a ROOT output needs 'tree' (and 'branch') or 'key'")
    with uproot.open(path) as file:
        if tree_name not in file:
            raise InvalidResultError(f"{where}: no object {tree_name!r} in the file "
                                     f"(keys: {', '.join(file.keys(cycle=False)) or 'none'})")
        obj = file[tree_name]
        if branch is None:
            if hasattr(obj, "values") and not hasattr(obj, "arrays"):  # a histogram
                return obj.values().tolist()
            raise InvalidResultError(f"{where}: {tree_name!r} is a tree; name a 'branch'")
        if branch not in obj.keys():
            raise InvalidResultError(f"{where}: tree {tree_name!r} has no branch {branch!r} "
                                     f"(branches: {', '.join(obj.keys())})")
        array = obj[branch].array(library="np")
    return array.tolist() if getattr(array, "ndim", 0) else array.item()


def _text(path: Path, pattern: str | None, where: str) -> Any:
    text = path.read_text(errors="replace")
    if pattern is None:
        if len(text) > MAX_TEXT:
            raise InvalidResultError(f"{where}: {len(text)} characters; give a 'pattern' to pick "
                                     "the value, or format: path")
        return text
    match = re.search(pattern, text, re.M)
    if match is None:
        raise InvalidResultError(f"{where}: pattern {pattern!r} not found")
    return _number(match.group(1) if match.groups() else match.group(0))


def _numbers(value: Any, where: str) -> list[float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    if isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                       for v in value):
        return [float(v) for v in value]
    raise InvalidResultError(f"{where}: cannot reduce a {type(value).__name__}; the values are "
                             "not numbers")


def _reduce(value: Any, how: str, where: str) -> Any:
    if how == "none":
        if isinstance(value, list) and len(value) > MAX_ELEMENTS:
            raise InvalidResultError(f"{where}: {len(value)} values; reduce them (reduce: mean, "
                                     "sum, ...) or use format: path")
        return value
    numbers = _numbers(value, where)
    if how == "count":
        return len(numbers)
    if not numbers:
        raise InvalidResultError(f"{where}: no values to reduce ({how})")
    if how == "mean":
        return math.fsum(numbers) / len(numbers)
    if how == "sum":
        return math.fsum(numbers)
    if how == "min":
        return min(numbers)
    if how == "max":
        return max(numbers)
    return numbers[0] if how == "first" else numbers[-1]
