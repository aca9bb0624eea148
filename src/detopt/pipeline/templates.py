"""Templates of stage arguments: Jinja2's sandbox with strict undefined names.

Every template renders exactly one string, which becomes exactly one argument (or one
environment value, one path): a parameter value with spaces, quotes or ``;`` stays one
argument and never reaches a shell. A keyword argument of a ``call`` stage that is a single
expression (``"{{ params }}"``) keeps its Python value instead of becoming text.

Names available in a template (see docs/pipelines.md): ``params``, ``units``, ``trial``,
``study``, ``stage``, ``job``, ``payload``, ``stages``, ``geometry``, ``python``,
``config_dir`` (and ``item`` inside an ``each`` argument).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

from detopt.errors import ConfigError

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                            keep_trailing_newline=True)
_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.S)


class TemplateRenderError(ConfigError):
    """A template could not be rendered (unknown name, bad expression, forbidden access)."""


def _explain(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "is undefined" in text:
        return f"unknown name: {text}"
    return text


class Argument:
    """One template that renders to one string."""

    def __init__(self, source: str, where: str):
        self.source, self.where = str(source), where
        try:
            self._template = _ENV.from_string(self.source)
        except TemplateError as exc:
            raise ConfigError(f"invalid template {self.source!r}: {_explain(exc)}.", field=where,
                              fix="check the {{ ... }} syntax (docs/pipelines.md)") from None

    def render(self, context: Mapping[str, Any]) -> str:
        try:
            return self._template.render(context)
        except Exception as exc:  # noqa: BLE001 - every template failure is a user error
            raise TemplateRenderError(f"template {self.source!r}: {_explain(exc)}.",
                                      field=self.where, fix=_fix(context)) from None


class Expression:
    """A template expression that keeps its Python value (``params``, ``stages.a.outputs.x``)."""

    def __init__(self, source: str, where: str):
        self.source, self.where = source.strip(), where
        try:
            self._expression = _ENV.compile_expression(self.source, undefined_to_none=False)
        except TemplateError as exc:
            raise ConfigError(f"invalid expression {self.source!r}: {_explain(exc)}.",
                              field=where, fix="write a Jinja2 expression, e.g. stages.sim.outputs.file"
                              ) from None

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        try:
            value = self._expression(**context)
        except Exception as exc:  # noqa: BLE001
            raise TemplateRenderError(f"expression {self.source!r}: {_explain(exc)}.",
                                      field=self.where, fix=_fix(context)) from None
        if isinstance(value, Undefined):
            raise TemplateRenderError(f"expression {self.source!r}: unknown name.",
                                      field=self.where, fix=_fix(context))
        return value


def _fix(context: Mapping[str, Any]) -> str:
    return f"use one of: {', '.join(sorted(k for k in context if not k.startswith('_')))} " \
           "(see docs/pipelines.md)"


class EachArguments:
    """``{each: <expression>, arg: <template>}``: one argument per element of a list."""

    def __init__(self, each: str, arg: str, where: str):
        self.items = Expression(each, f"{where}.each")
        self.arg = Argument(arg, f"{where}.arg")

    def render(self, context: Mapping[str, Any]) -> list[str]:
        values = self.items.evaluate(context)
        if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
            raise TemplateRenderError(f"'each: {self.items.source}' is a {type(values).__name__}, "
                                      "not a list.", field=self.items.where,
                                      fix="give an expression whose value is a list")
        return [self.arg.render({**context, "item": v}) for v in values]


def compile_command(command: list[Any], where: str) -> list[Argument | EachArguments]:
    """Compile a stage's argument list (strings and ``each`` entries)."""
    out: list[Argument | EachArguments] = []
    for i, entry in enumerate(command):
        if isinstance(entry, str):
            out.append(Argument(entry, f"{where}[{i}]"))
        else:  # an EachArgument model
            out.append(EachArguments(entry.each, entry.arg, f"{where}[{i}]"))
    return out


def render_command(command: list[Argument | EachArguments], context: Mapping[str, Any]) -> list[str]:
    argv: list[str] = []
    for part in command:
        if isinstance(part, EachArguments):
            argv.extend(part.render(context))
        else:
            argv.append(part.render(context))
    return argv


class Value:
    """A keyword-argument template: strings are templates (a lone ``{{ expr }}`` keeps its
    value), lists and mappings are walked, anything else is passed as it is."""

    def __init__(self, raw: Any, where: str):
        self.raw, self.where = raw, where
        self._compiled = self._compile(raw, where)

    @staticmethod
    def _compile(raw: Any, where: str) -> Any:
        if isinstance(raw, str):
            single = _SINGLE_EXPRESSION.match(raw)
            return Expression(single["expr"], where) if single else Argument(raw, where)
        if isinstance(raw, list):
            return [Value._compile(v, f"{where}[{i}]") for i, v in enumerate(raw)]
        if isinstance(raw, Mapping):
            return {k: Value._compile(v, f"{where}.{k}") for k, v in raw.items()}
        return raw

    def render(self, context: Mapping[str, Any]) -> Any:
        return self._render(self._compiled, context)

    @classmethod
    def _render(cls, node: Any, context: Mapping[str, Any]) -> Any:
        if isinstance(node, Expression):
            return node.evaluate(context)
        if isinstance(node, Argument):
            return node.render(context)
        if isinstance(node, list):
            return [cls._render(v, context) for v in node]
        if isinstance(node, dict):
            return {k: cls._render(v, context) for k, v in node.items()}
        return node


class Placeholder:
    """Stands in for an output that does not exist yet when templates are checked before any
    trial: any attribute, item, arithmetic or conversion gives a placeholder again, so only
    the names around it are checked."""

    def __init__(self, label: str):
        self._label = label

    def __str__(self) -> str:
        return self._label

    __repr__ = __str__

    def __getattr__(self, name: str) -> Placeholder:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key: Any) -> Placeholder:
        return self

    def __iter__(self):
        yield self

    def __len__(self) -> int:
        return 1

    def __float__(self) -> float:
        return 1.0

    def __int__(self) -> int:
        return 1

    def __bool__(self) -> bool:
        return True

    def _same(self, *_: Any) -> Placeholder:
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _same
    __pow__ = __rpow__ = __neg__ = __pos__ = __abs__ = _same
