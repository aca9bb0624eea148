"""Geometry edits: each trial gets its own copy of the detector description, edited with lxml.

A parameter names ``file`` (relative to the geometry folder), ``xpath``, ``attribute`` and
``unit``; the trial's value is written as ``<value>*<unit>`` (DD4hep's unit syntax), or as the
bare value without a unit. The XPath must select exactly one element (or one attribute, with
``.../@name``): checked against the source folder when the study is validated, so a typo is a
configuration error before any trial runs. The shared source is never modified.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from detopt.errors import ConfigError


@dataclass(frozen=True)
class XmlEdit:
    """Write one parameter's value into one XML node.

    Attributes:
        parameter: the parameter's name.
        file: path of the XML file inside the geometry folder.
        xpath: XPath selecting exactly one element, or one attribute (``//mirror/@radius``).
        attribute: the attribute to set on the element (``None``: the element's text, or the
            attribute the XPath selects).
        unit: appended as ``*unit`` (``""``: the bare value).
        where: the config field, for messages.
    """

    parameter: str
    file: str
    xpath: str
    attribute: str | None = None
    unit: str = ""
    where: str = "problem.parameters"


def format_value(value: Any, unit: str) -> str:
    """The text written into the XML: ``219.8*cm``, ``3`` or ``"a string"``."""
    text = repr(value) if isinstance(value, float) else str(value)
    return f"{text}*{unit}" if unit else text


def _parse(path: Path, where: str) -> etree._ElementTree:
    try:
        return etree.parse(str(path), etree.XMLParser(remove_blank_text=False,
                                                      resolve_entities=False))
    except (OSError, etree.XMLSyntaxError) as exc:
        raise ConfigError(f"cannot read XML file {path}: {exc}.", field=where,
                          fix="give a well-formed XML file inside the geometry folder") from None


def _target(tree: etree._ElementTree, edit: XmlEdit, path: Path) -> tuple[Any, str | None]:
    """The single node an edit selects: ``(element, attribute or None for text)``."""
    where = f"{edit.where}.xpath"
    try:
        found = tree.xpath(edit.xpath)
    except etree.XPathError as exc:
        raise ConfigError(f"invalid XPath {edit.xpath!r}: {exc}.", field=where,
                          fix="write an XPath 1.0 expression, e.g. //mirror[@name='m1']") from None
    if not isinstance(found, list):
        raise ConfigError(f"XPath {edit.xpath!r} evaluates to a value ({found!r}), not a node.",
                          field=where, fix="select an element or an attribute (…/@name)")
    if len(found) != 1:
        what = "matches nothing" if not found else f"matches {len(found)} nodes"
        raise ConfigError(f"XPath {edit.xpath!r} {what} in {path}.", field=where,
                          fix="make the XPath select exactly one element "
                              "(add a predicate such as [@name='...'] or [1])")
    node = found[0]
    if isinstance(node, etree._Element):
        return node, edit.attribute
    attrname = getattr(node, "attrname", None)
    if getattr(node, "is_attribute", False) and attrname is not None:
        if edit.attribute is not None and edit.attribute != attrname:
            raise ConfigError(f"XPath {edit.xpath!r} selects attribute {attrname!r} but "
                              f"'attribute' is {edit.attribute!r}.", field=where,
                              fix="select the element, or drop 'attribute'")
        return node.getparent(), attrname
    raise ConfigError(f"XPath {edit.xpath!r} selects text, not an element or attribute.",
                      field=where, fix="select an element or an attribute (…/@name)")


def check_edits(source: Path, edits: Sequence[XmlEdit]) -> None:
    """Raise ConfigError unless every edit's file exists and its XPath selects one node."""
    trees: dict[str, etree._ElementTree] = {}
    for edit in edits:
        path = _file(source, edit)
        if edit.file not in trees:
            trees[edit.file] = _parse(path, f"{edit.where}.file")
        element, attribute = _target(trees[edit.file], edit, path)
        if attribute is not None and attribute not in element.attrib:
            raise ConfigError(f"the element selected by {edit.xpath!r} in {path} has no attribute "
                              f"{attribute!r} (it has: {', '.join(element.attrib) or 'none'}).",
                              field=f"{edit.where}.attribute", fix="name an existing attribute")


def _file(source: Path, edit: XmlEdit) -> Path:
    path = (source / edit.file).resolve()
    if not path.is_relative_to(source.resolve()):
        raise ConfigError(f"file {edit.file!r} lies outside the geometry folder {source}.",
                          field=f"{edit.where}.file", fix="give a path inside the folder")
    if not path.is_file():
        raise ConfigError(f"no file {edit.file!r} in the geometry folder {source}.",
                          field=f"{edit.where}.file", fix="give the path relative to the folder")
    return path


def prepare_geometry(source: Path, target: Path, edits: Sequence[XmlEdit],
                     params: Mapping[str, Any], mode: str = "copy") -> Path:
    """Make ``target`` a copy of ``source`` with the edits applied; returns ``target``.

    ``mode="symlink"`` copies only the edited files and links the rest (a large install tree
    costs no space per trial). An existing ``target`` (a half-done earlier try) is replaced.
    """
    if target.exists():
        shutil.rmtree(target)
    edited = {os.path.normpath(e.file) for e in edits}
    if mode == "copy":
        shutil.copytree(source, target, symlinks=True)
    else:
        for folder, _dirs, files in os.walk(source):
            rel = Path(folder).relative_to(source)
            (target / rel).mkdir(parents=True, exist_ok=True)
            for name in files:
                src = Path(folder) / name
                if os.path.normpath(rel / name) in edited:
                    shutil.copy2(src, target / rel / name)
                else:
                    os.symlink(src.resolve(), target / rel / name)
    by_file: dict[str, list[XmlEdit]] = {}
    for edit in edits:
        by_file.setdefault(edit.file, []).append(edit)
    for file, file_edits in by_file.items():
        path = target / file
        if path.is_symlink():  # never write through a link into the shared source
            real = path.resolve()
            path.unlink()
            shutil.copy2(real, path)
        tree = _parse(path, file_edits[0].where)
        for edit in file_edits:
            element, attribute = _target(tree, edit, path)
            text = format_value(params[edit.parameter], edit.unit)
            if attribute is None:
                element.text = text
            else:
                element.set(attribute, text)
        declared = path.read_bytes()[:100].lstrip().startswith(b"<?xml")
        tree.write(str(path), encoding=tree.docinfo.encoding or "UTF-8", xml_declaration=declared)
    return target
