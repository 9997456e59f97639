"""CI cannot go green by skipping: PostgreSQL absent fails the run unless a developer opts out.

The suite is run in a subprocess against a PostgreSQL URL whose port nothing listens on: by
default its PostgreSQL tests fail (whether or not ``CI`` is set); with
``OBSBOT_SKIP_POSTGRES=1`` they are skipped and the run ends with a warning banner. ``.ci/run``
is run with stand-ins for ``pg_isready``/``pg_ctlcluster``/``python3``: a server that never
becomes ready stops it before the tests, with one line saying why.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_TEST = "tests/storage/test_schema.py::test_postgres_migrations_match_models"


def _closed_port() -> int:
    """Return a local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pytest(**extra: str) -> subprocess.CompletedProcess[str]:
    """Run the one PostgreSQL test in a fresh pytest, PostgreSQL unreachable."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "OBSBOT_SKIP_POSTGRES")}
    env["TEST_POSTGRES_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/test"
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "pytest", POSTGRES_TEST, "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_unreachable_postgres_fails_the_run_without_ci() -> None:
    done = _pytest()
    assert done.returncode != 0, done.stdout[-2000:]
    assert "PostgreSQL is required" in done.stdout
    assert "OBSBOT_SKIP_POSTGRES=1" in done.stdout  # it says how to opt out
    assert " skipped" not in done.stdout.splitlines()[-1]


def test_an_unreachable_postgres_fails_the_run_with_ci_false() -> None:
    done = _pytest(CI="false")
    assert done.returncode != 0, done.stdout[-2000:]


def test_the_opt_out_skips_loudly() -> None:
    done = _pytest(OBSBOT_SKIP_POSTGRES="1")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 skipped" in done.stdout
    assert "PostgreSQL tests SKIPPED" in done.stdout


def _fake_tools(tmp_path: Path, *, ready: bool) -> tuple[Path, dict[str, str]]:
    """A copy of .ci/run, and a PATH whose pg_isready/pg_ctlcluster/python3 are stand-ins."""
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "run", repo / ".ci" / "run")
    tools = tmp_path / "bin"
    tools.mkdir()
    scripts = {
        "pg_isready": f"exit {0 if ready else 2}",
        "pg_ctlcluster": "exit 0",
        "python3": f'echo "${{OBSBOT_SKIP_POSTGRES:-unset}}" > "{tmp_path}/tests-ran"; exit 1',
    }
    for name, body in scripts.items():
        path = tools / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    env = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}", "PG_WAIT_SECONDS": "1"}
    env["OBSBOT_SKIP_POSTGRES"] = "1"  # .ci/run must not honour it
    return repo, env


def test_ci_run_stops_when_postgres_never_becomes_ready(tmp_path: Path) -> None:
    repo, env = _fake_tools(tmp_path, ready=False)
    done = subprocess.run(
        ["bash", str(repo / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "PostgreSQL is not ready" in done.stderr
    assert not (tmp_path / "tests-ran").exists(), "the tests ran without PostgreSQL"


def test_ci_run_goes_on_to_the_tests_when_postgres_is_ready(tmp_path: Path) -> None:
    repo, env = _fake_tools(tmp_path, ready=True)
    subprocess.run(
        ["bash", str(repo / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60
    )
    # The tests ran, and without the opt-out the caller had set.
    assert (tmp_path / "tests-ran").read_text().strip() == "unset"
