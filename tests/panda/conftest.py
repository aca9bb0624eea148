"""Fixtures of the PanDA runner tests.

Tiers (see docs/runners.md#panda-idds):

* contract / no services: the real client libraries, nothing running;
* A + B (``amq``, ``idds_host``): the real ActiveMQ broker and the real iDDS REST server on
  PostgreSQL, started by scripts/test.sh. No agents: the test itself plays PanDA, by handing
  each submitted work to the localpanda plugin (``pilot`` fixture), which runs the real
  iDDS worker-side path (``idds_parse_workflow_args`` + ``run_workflow``) in a job directory;
* C (``idds_agents``): the iDDS agents too, with localpanda as their carrier plugin; started
  here for the tests that need them and stopped by PID afterwards (they poll all the time).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VENV_BIN = Path(sys.executable).parent
SERVICES = ROOT / "scripts" / "services"


def require_service_env(var: str, service: str) -> str:
    """As tests/conftest.py: fail (or skip with DETOPT_ALLOW_MISSING_SERVICES=1) when unset."""
    value = os.environ.get(var, "").strip()
    if value:
        return value
    if os.environ.get("DETOPT_ALLOW_MISSING_SERVICES") == "1":
        pytest.skip(f"{service} not available: {var} is not set")
    pytest.fail(f"{service} is required but {var} is not set: run the tests through "
                "scripts/test.sh (DETOPT_SERVICES includes activemq idds)", pytrace=False)


@pytest.fixture(scope="session")
def amq() -> dict[str, str]:
    """The broker of start_activemq.sh, as the ``IDDS_BROKER*`` settings."""
    stomp = require_service_env("DETOPT_TEST_AMQ_STOMP", "ActiveMQ")
    return {"IDDS_BROKERS": stomp, "IDDS_BROKER_DESTINATION": os.environ["DETOPT_TEST_AMQ_DESTINATION"],
            "IDDS_BROKER_USERNAME": os.environ["DETOPT_TEST_AMQ_USER"],
            "IDDS_BROKER_PASSWORD": os.environ["DETOPT_TEST_AMQ_PASSWORD"], "IDDS_BROKER_TIMEOUT": "10"}


@pytest.fixture(scope="session")
def idds_host(amq) -> str:
    return require_service_env("DETOPT_TEST_IDDS_HOST", "iDDS REST server")


@pytest.fixture
def client_env(idds_host, monkeypatch, tmp_path) -> dict[str, str]:
    """The driver's environment: iDDS client mode, the server, the test certificate; the broker
    configuration comes from the server (metainfo), as in production."""
    for key in [k for k in os.environ if k.startswith("IDDS_BROKER") or k in (
            "OIDC_AUTH_ID_TOKEN", "IDDS_OIDC_TOKEN", "PANDA_AUTH_ID_TOKEN")]:
        monkeypatch.delenv(key)
    env = {"IDDS_HOST": idds_host, "IDDS_CLIENT_MODE": "1",
           "IDDS_CONFIG": str(VENV_BIN.parent / "etc" / "idds" / "idds.cfg.client.template"),
           "X509_USER_PROXY": os.environ["DETOPT_TEST_IDDS_PROXY"], "IDDS_AUTH_TYPE": "x509_proxy",
           # the test process plays PanDA in tiers A/B: localpanda's settings
           "LOCALPANDA_JOBS": str(tmp_path / "jobs"), "LOCALPANDA_BIN": str(VENV_BIN),
           "LOCALPANDA_IDDS_HOST": idds_host, "LOCALPANDA_PROXY": os.environ["DETOPT_TEST_IDDS_PROXY"],
           "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "jobs").mkdir(exist_ok=True)
    return env


@pytest.fixture(scope="session")
def idds_agents(idds_host):
    """Tier C: the iDDS agents with the localpanda plugin, for the tests of this session that
    ask for them; stopped by PID at the end (they would keep a core busy)."""
    env = dict(os.environ)
    running = subprocess.run(["bash", "-c", f". {SERVICES}/lib.sh; svc_running idds-agents"],
                             env=env).returncode == 0
    if not running:  # already up (e.g. a benchmark's): use them, leave them to their owner
        subprocess.run(["bash", str(SERVICES / "start_idds.sh"), "agents"], check=True, env=env,
                       timeout=300)
    yield Path(os.environ["DETOPT_TEST_IDDS_DIR"]) / "jobs"
    if not running:
        subprocess.run(["bash", str(SERVICES / "start_idds.sh"), "stop-agents"], check=False,
                       env=env, timeout=120)
