"""Set-up problems of the PanDA runner: one clear line from ``detopt run``, exit 2, and nothing
submitted or stored as running. Needs no service (the "unreachable" cases point at closed
loopback ports)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import yaml

from detopt.storage import Storage

HERE = Path(__file__).resolve().parent
CERT_HELP = HERE / "test_panda_contract.py"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends


def _study(tmp_path: Path, **runner) -> Path:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "model.py").write_text("def f(params):\n    return {'f1': 0.0, 'f2': 0.0}\n")
    cfg = {"name": "setup-errors", "storage": str(tmp_path / "s.db"),
           "problem": {"builtin": "dtlz2", "options": {"n_objectives": 2, "n_variables": 3}},
           "optimizer": {"name": "sobol", "seed": 1}, "study": {"max_trials": 2},
           "runner": {"kind": "panda", "service": "idds", "source_dir": str(src),
                      "workdir": str(tmp_path / "wd"), "connect_timeout": 5, **runner}}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _run(path: Path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("IDDS_BROKER", "X509", "OIDC", "PANDA_AUTH", "IDDS_OIDC"))}
    clean.update(IDDS_CLIENT_MODE="1", **env)
    return subprocess.run([sys.executable, "-m", "detopt", "run", str(path), "--no-progress",
                           "--no-report"], capture_output=True, text=True, env=clean, timeout=120,
                          cwd=path.parent)


def _assert_one_line_exit_2(proc: subprocess.CompletedProcess, *needles: str) -> None:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def _nothing_running(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    if db.exists():
        with Storage(str(db)) as storage:
            record = storage.get_study("setup-errors")
            assert record is None or not storage.load_trials(record.id)
    journal = tmp_path / "wd" / "journal.jsonl"
    assert not journal.exists() or not journal.read_text().strip()


def _valid_proxy(tmp_path: Path) -> str:
    sys.path.insert(0, str(HERE))
    from test_panda_contract import _cert

    return str(_cert(tmp_path / "proxy.pem", 1))


def test_missing_credential(tmp_path):
    path = _study(tmp_path, idds_host=f"http://127.0.0.1:{_closed_port()}/idds")
    proc = _run(path, X509_USER_PROXY=str(tmp_path / "no-such-proxy"))
    _assert_one_line_exit_2(proc, "runner.x509_proxy", "no usable X.509 proxy", "Fix:")
    _nothing_running(tmp_path)


def test_expired_token_is_named_without_showing_it(tmp_path):
    sys.path.insert(0, str(HERE))
    import time

    from test_panda_contract import _jwt

    token = _jwt(time.time() - 60)
    path = _study(tmp_path, idds_host=f"http://127.0.0.1:{_closed_port()}/idds", vo="EIC")
    proc = _run(path, OIDC_AUTH_ID_TOKEN=token)
    _assert_one_line_exit_2(proc, "OIDC token", "expired")
    assert token not in proc.stderr + proc.stdout
    _nothing_running(tmp_path)


def test_oversized_tarball_names_the_largest_files(tmp_path):
    path = _study(tmp_path, idds_host=f"http://127.0.0.1:{_closed_port()}/idds")
    (tmp_path / "src" / "weights.bin").write_bytes(os.urandom(11 * 1024 * 1024))
    proc = _run(path, X509_USER_PROXY=_valid_proxy(tmp_path))
    _assert_one_line_exit_2(proc, "runner.source_dir", "weights.bin (11.5 MB)", "10 MB")
    _nothing_running(tmp_path)


def test_unreachable_server(tmp_path):
    path = _study(tmp_path, idds_host=f"http://127.0.0.1:{_closed_port()}/idds")
    proc = _run(path, X509_USER_PROXY=_valid_proxy(tmp_path))  # broker config must come from it
    _assert_one_line_exit_2(proc, "runner.idds_host", "does not answer", "Connection refused")
    _nothing_running(tmp_path)


def test_unreachable_broker(tmp_path):
    path = _study(tmp_path, idds_host=f"http://127.0.0.1:{_closed_port()}/idds")
    proc = _run(path, X509_USER_PROXY=_valid_proxy(tmp_path),
                IDDS_BROKERS=f"127.0.0.1:{_closed_port()}", IDDS_BROKER_DESTINATION="/topic/x",
                IDDS_BROKER_USERNAME="u", IDDS_BROKER_PASSWORD="p")
    _assert_one_line_exit_2(proc, "cannot reach the STOMP broker 127.0.0.1:")
    assert "IDDS_BROKER_PASSWORD" not in proc.stderr and ": p " not in proc.stderr
    _nothing_running(tmp_path)
