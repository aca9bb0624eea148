"""Plugins: optimizers, runners and problems found by name through package entry points.

Every plugin kind has one entry-point group (:data:`GROUPS`); detopt's built-ins register in
its own ``pyproject.toml`` exactly like a third-party package does::

    [project.entry-points."detopt.runners"]
    mysite = "mygroup.batch:SiteRunner"

A plugin declares its settings as a pydantic model (a subclass of :class:`PluginOptions`) in
its ``Options`` attribute; detopt validates the config section with it, so a wrong option is
a config error naming the plugin, the field and the allowed values. Loading is lazy: listing
the installed plugins reads package metadata only; a plugin's module is imported when a study
uses it.

How each kind is built from its validated options:

* optimizer: ``Cls(space, objectives, seed=..., options=..., reference_point=...)``
  (a subclass of :class:`detopt.optimizers.base.Optimizer`);
* runner: ``Cls.from_options(options)`` (a subclass of :class:`detopt.runners.base.Runner`;
  the default passes the fields as keyword arguments to ``__init__``);
* problem: ``factory(options)`` returning a :class:`detopt.problem.Problem`; decorate the
  factory with :func:`with_options`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from detopt.errors import ConfigError

Kind = Literal["optimizer", "runner", "problem"]

#: entry-point group of each plugin kind
GROUPS: dict[str, str] = {"optimizer": "detopt.optimizers", "runner": "detopt.runners",
                          "problem": "detopt.problems"}

#: the config field that names a plugin of each kind
_NAME_FIELDS = {"optimizer": "optimizer.name", "runner": "runner.kind", "problem": "problem.builtin"}


class PluginOptions(BaseModel):
    """Base of every plugin's options: unknown keys are errors, values are validated."""

    model_config = ConfigDict(extra="forbid")


F = TypeVar("F", bound=Callable[..., Any])


def with_options(model: type[PluginOptions]) -> Callable[[F], F]:
    """Declare the options model of a problem factory (``factory(options) -> Problem``)."""
    def mark(factory: F) -> F:
        factory.Options = model  # type: ignore[attr-defined]
        return factory
    return mark


@dataclass(frozen=True)
class PluginInfo:
    """One installed plugin, as its package declares it (nothing imported yet)."""

    kind: str
    name: str
    target: str           # "module:attribute"
    package: str          # the distribution that provides it
    version: str


def normalize(kind: str, name: str) -> str:
    """Names are case-insensitive; optimizer names also ignore ``-`` and ``_`` (NSGA-2, nsga_2)."""
    key = name.strip().lower()
    return key.replace("-", "").replace("_", "") if kind == "optimizer" else key


@cache
def installed(kind: Kind) -> dict[str, PluginInfo]:
    """The installed plugins of ``kind`` by normalized name."""
    found: dict[str, PluginInfo] = {}
    for ep in importlib.metadata.entry_points(group=GROUPS[kind]):
        dist = ep.dist
        found.setdefault(normalize(kind, ep.name), PluginInfo(
            kind, ep.name, ep.value, dist.name if dist else "?", dist.version if dist else "?"))
    return found


def available(kind: Kind) -> list[str]:
    return sorted(installed(kind))


def info(kind: Kind, name: str) -> PluginInfo:
    """The plugin registered as ``name``.

    Raises:
        ConfigError: no installed package provides it; the message lists what is installed.
    """
    plugins = installed(kind)
    found = plugins.get(normalize(kind, str(name)))
    if found is None:
        names = ", ".join(sorted(plugins)) or "none (is detopt installed? pip install -e .)"
        raise ConfigError(f"unknown {kind} {name!r}.", field=_NAME_FIELDS[kind],
                          fix=f"use one of: {names}")
    return found


def load(kind: Kind, name: str) -> Any:
    """Import and return the class or factory registered as ``name``."""
    plugin = info(kind, name)
    module_name, _, attribute = plugin.target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except ImportError as exc:
        raise ConfigError(f"the {kind} {plugin.name!r} (package {plugin.package}) cannot be "
                          f"imported: {exc}.", field=_NAME_FIELDS[kind],
                          fix=_install_hint(exc)) from None
    except AttributeError:
        raise ConfigError(f"the {kind} {plugin.name!r} points to {plugin.target}, which does "
                          f"not exist.", field=_NAME_FIELDS[kind],
                          fix=f"reinstall the package {plugin.package}") from None
    if not isinstance(getattr(obj, "Options", None), type) or \
            not issubclass(obj.Options, BaseModel):
        raise ConfigError(f"the {kind} {plugin.name!r} ({plugin.target}) declares no pydantic "
                          f"Options model.", field=_NAME_FIELDS[kind],
                          fix="give the plugin an 'Options' attribute (a PluginOptions subclass)")
    return obj


def _install_hint(exc: ImportError) -> str:
    missing = getattr(exc, "name", None)
    return f"install the missing package {missing!r}" if missing else "install its dependencies"


def parse_options(kind: Kind, name: str, model: type[BaseModel], raw: Mapping[str, Any] | None,
                  field: str) -> BaseModel:
    """Validate ``raw`` with a plugin's options ``model``.

    Raises:
        ConfigError: naming the plugin, the field (``field`` + the option's path) and, for an
            unknown option, the allowed names.
    """
    try:
        return model.model_validate(dict(raw or {}))
    except ValidationError as exc:
        raise options_error(kind, name, model, exc, field) from None


def options_error(kind: str, name: str, model: type[BaseModel], exc: ValidationError,
                  field: str) -> ConfigError:
    """A one-line config error from the first pydantic error of a plugin's options."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    full = f"{field}.{where}" if where else field
    allowed = ", ".join(sorted(model.model_fields)) or "none"
    if err["type"] == "extra_forbidden":
        return ConfigError(f"the {kind} {name!r} has no option {err['loc'][-1]!r}.", field=full,
                           fix=f"use one of: {allowed}")
    if err["type"] == "missing":
        return ConfigError(f"the {kind} {name!r} needs this option.", field=full, fix="add it")
    message = str(err["msg"]).removeprefix("Value error, ")
    return ConfigError(f"{message} (option of the {kind} {name!r}).", field=full,
                       fix=f"see 'detopt plugins' for the options of {name!r}")


def option_rows(model: type[BaseModel]) -> list[tuple[str, str, str]]:
    """``(name, default, description)`` of every option, for listings."""
    rows = []
    for option, spec in model.model_fields.items():
        if spec.is_required():
            default = "required"
        elif spec.default_factory is not None:
            default = repr(spec.default_factory())  # type: ignore[call-arg]
        else:
            default = "auto" if spec.default is None else repr(spec.default)
        rows.append((option, default, " ".join((spec.description or "").split())))
    return rows


__all__ = ["GROUPS", "PluginInfo", "PluginOptions", "available", "info", "installed", "load",
           "normalize", "option_rows", "options_error", "parse_options", "with_options"]
