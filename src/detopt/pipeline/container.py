"""Argument lists that wrap a stage's command: a sourced setup script, a container.

Nothing here builds a shell string from user data. A setup script is sourced by a *constant*
bash program; the script's path, its arguments and the command reach bash as positional
parameters (``"$@"``), which bash never parses as code. Containers are started by their
engine's own command line, with the trial directory bound at the same path so that every job
sees the files of earlier stages:

- ``apptainer`` / ``singularity`` (as used with eic-shell): ``exec --bind ... --pwd ... IMAGE
  CMD``; environment variables go in as ``APPTAINERENV_<NAME>`` (``SINGULARITYENV_<NAME>``),
  which the engine sets inside the container, so values never pass through its option parser.
- ``bwrap`` (bubblewrap, works without a daemon or an image): a read-only root (this machine's
  ``/`` or a root filesystem folder), private ``/tmp``, ``/dev`` and PID namespace, the trial
  directory bound read-write.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from detopt.errors import ConfigError

#: sources "$1" with the next "$2" arguments, then runs the rest as the command, in the folder
#: it started in; its own variables are read-only, so the script cannot change what runs
SETUP_PROGRAM = (
    '__detopt_script=$1; __detopt_n=$2; shift 2; __detopt_args=("${@:1:$__detopt_n}"); '
    'shift "$__detopt_n"; __detopt_cmd=("$@"); __detopt_dir=$PWD; '
    'readonly __detopt_script __detopt_n __detopt_args __detopt_cmd __detopt_dir; set --; '
    '. "$__detopt_script" "${__detopt_args[@]}" || '
    '{ echo "detopt: setup script $__detopt_script failed" >&2; exit 127; }; '
    'cd -- "$__detopt_dir" && exec "${__detopt_cmd[@]}"')


def setup_argv(script: str, args: Sequence[str], argv: Sequence[str]) -> list[str]:
    """``argv`` run after ``bash`` sourced ``script args...`` (in the same process)."""
    return ["bash", "--noprofile", "--norc", "-c", SETUP_PROGRAM, "detopt-setup", script,
            str(len(args)), *args, *argv]


def _engine(container: Mapping[str, Any]) -> str:
    executable = container.get("executable") or container["engine"]
    return str(executable)


def _bind_pairs(binds: Sequence[str]) -> list[tuple[str, str, bool]]:
    pairs = []
    for bind in binds:
        parts = bind.split(":")
        src = parts[0]
        dst = parts[1] if len(parts) > 1 and parts[1] else src
        pairs.append((src, dst, len(parts) == 3 and parts[2] == "ro"))
    return pairs


def container_argv(container: Mapping[str, Any], argv: Sequence[str], *, trial_dir: Path,
                   cwd: Path, env: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The engine's argument list that runs ``argv`` inside ``container``, and the extra
    environment variables the engine process needs.

    Args:
        container: the stage's ``container`` section (engine, image, binds, options).
        argv: the command (already wrapped by :func:`setup_argv` if there is a setup script).
        trial_dir: bound read-write at the same path.
        cwd: the job's directory (inside ``trial_dir``), the command's working directory.
        env: the stage's environment variables.
    """
    engine = container["engine"]
    binds = _bind_pairs(container.get("binds") or [])
    options = [str(o) for o in container.get("options") or []]
    for path in (trial_dir, cwd):
        if any(c in str(path) for c in ",:"):
            raise ConfigError(f"the work directory {path} contains ',' or ':', which {engine} "
                              "cannot bind.", field="problem.pipeline.workdir",
                              fix="choose a work directory without ',' and ':'")
    if engine in ("apptainer", "singularity"):
        out = [_engine(container), "exec", "--bind", f"{trial_dir}:{trial_dir}"]
        for src, dst, ro in binds:
            out += ["--bind", f"{src}:{dst}" + (":ro" if ro else "")]
        out += ["--pwd", str(cwd), *options, str(container["image"]), *argv]
        prefix = "APPTAINERENV_" if engine == "apptainer" else "SINGULARITYENV_"
        return out, {prefix + k: v for k, v in env.items()}
    if engine == "bwrap":
        out = [_engine(container), "--ro-bind", str(container.get("image") or "/"), "/",
               "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        for src, dst, ro in binds:
            out += ["--ro-bind" if ro else "--bind", src, dst]
        # last, so that a read-only bind of a parent folder cannot hide it
        out += ["--bind", str(trial_dir), str(trial_dir), "--chdir", str(cwd), "--unshare-pid",
                "--die-with-parent", *options, "--", *argv]
        return out, {}  # bwrap passes its own environment on to the command
    raise ConfigError(f"unknown container engine {engine!r}.", field="container.engine",
                      fix="use apptainer, singularity or bwrap")


def check_engine(container: Mapping[str, Any], where: str) -> None:
    """Raise ConfigError if the engine cannot be found here (checked where the job runs)."""
    engine = _engine(container)
    if shutil.which(engine) is None:
        raise ConfigError(f"container engine {engine!r} is not installed here.", field=where,
                          fix="install it (e.g. apt-get install bubblewrap), or set 'executable'")
