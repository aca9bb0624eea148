"""The ``runner: {kind: panda, ...}`` options (validated by pydantic; unknown keys are errors).

Secrets never appear here: the credential is found through an environment variable or a file
path (:mod:`detopt.runners.panda.credentials`), the broker password through the iDDS server's
broker configuration or the ``IDDS_BROKER_*`` environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from detopt.units import parse_duration, parse_memory_mb

from detopt.runners.base import RunnerOptions

_PLAIN = r"^[A-Za-z0-9_.:@/+-]+$"  # PanDA names: queue, site, cloud, VO, working group, image


class PandaOptions(RunnerOptions):
    """Where and how trials run on PanDA (through iDDS)."""

    service: Literal["panda", "idds"] = Field(
        "panda", description="'panda': through the PanDA server's iDDS relay (production); "
        "'idds': straight to an iDDS REST server (IDDS_HOST)")
    queue: str | None = Field(None, pattern=_PLAIN, description="PanDA queue, e.g. BNL_PanDA_1")
    site: str | None = Field(None, pattern=_PLAIN, description="PanDA site")
    cloud: str | None = Field(None, pattern=_PLAIN, description="PanDA cloud, e.g. US")
    vo: str | None = Field(None, pattern=_PLAIN, description="virtual organisation, e.g. EIC")
    working_group: str | None = Field(None, pattern=_PLAIN)
    container: str | None = Field(None, pattern=_PLAIN,
                                  description="container image the job runs in (PanDA container_name)")
    init_env: str | None = Field(
        None, description="shell prefix run before the job on the worker node, e.g. "
        "'source /cvmfs/.../setup.sh;' (PanDA's mechanism: it is run by the pilot's shell)")
    clean_env: str | None = None
    cores: int = Field(1, ge=1, description="default cores per work; a call asking for more wins")
    memory: str | int = Field("2GB", description="default memory per work; a call's memory wins")
    walltime: str | float = Field("4h", description="default time limit per work; a call's wins")
    retries: int = Field(2, ge=0, le=20, description="PanDA retries of a failed job "
                         "(max_attempt = retries + 1)")
    result_timeout: str | float = Field("2d", description="give up on a trial with no result "
                                        "this long after its submission")
    result_grace: str | float = Field(60, description="wait this long for the result message "
                                      "after iDDS reports the work ended")
    status_interval: float = Field(30.0, gt=0, description="seconds between iDDS status checks")
    rest_poll_interval: float = Field(60.0, gt=0, description="seconds between REST polls for "
                                      "results while the broker is unreachable")
    connect_timeout: float = Field(30.0, gt=0, description="seconds to reach broker and server")
    idds_host: str | None = Field(None, description="iDDS REST URL (default $IDDS_HOST)")
    source_dir: Path = Field(Path("."), description="folder shipped to the jobs as a tarball")
    excludes: list[str] = Field(default_factory=list, description="more glob patterns kept out "
                                "of the tarball (.git, venvs, *.db, logs, outputs always are)")
    upload: bool = Field(True, description="upload the tarball to the PanDA cache; false when "
                         "the jobs find the code otherwise (shared filesystem, container)")
    auth: Literal["auto", "oidc", "x509"] = "auto"
    token_file: Path | None = Field(None, description="file with the OIDC id token")
    x509_proxy: Path | None = Field(None, description="X.509 proxy (default $X509_USER_PROXY)")
    workdir: Path = Field(Path("detopt-panda"), description="local folder for the submission "
                          "journal and the source tarball")
    durable_results: bool = Field(True, description="jobs also store their outcome in iDDS's "
                                  "message store, so a resumed study finds results it missed")
    slots: int = Field(10, ge=1, description="default concurrency of a study")

    @field_validator("memory")
    @classmethod
    def _memory(cls, v: str | int) -> str | int:
        parse_memory_mb(v, field="runner.memory")
        return v

    @field_validator("walltime", "result_timeout", "result_grace")
    @classmethod
    def _duration(cls, v: str | float) -> str | float:
        parse_duration(v, field="runner")
        return v

    @field_validator("excludes")
    @classmethod
    def _excludes(cls, v: list[str]) -> list[str]:
        if any(not p or "\n" in p for p in v):
            raise ValueError("exclude patterns must be non-empty, single-line globs")
        return v

    # parsed forms
    @property
    def memory_mb(self) -> int:
        return int(parse_memory_mb(self.memory, field="runner.memory"))

    @property
    def walltime_s(self) -> float:
        return float(parse_duration(self.walltime, field="runner.walltime"))

    @property
    def result_timeout_s(self) -> float:
        return float(parse_duration(self.result_timeout, field="runner.result_timeout"))

    @property
    def result_grace_s(self) -> float:
        return float(parse_duration(self.result_grace, field="runner.result_grace"))


__all__ = ["PandaOptions"]
