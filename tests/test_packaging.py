"""Packaging: pyproject.toml declares what the package imports, and the verify-only install
(``aimsflow[verify]``) verifies a store without Airflow, pandas or GX.

Bug (issue 11, point 9): ``dependencies = []`` while the package imported rich, attrs, openlineage,
pandas, ...: ``pip install .`` gave a package that could not import, and an auditor had to install
Airflow to verify a store.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = PROJECT / "include" / "aimsflow"

# Declared although nothing imports it: what installs the scheduler, API server and workers that run
# the DAGs (the package itself imports the Task SDK and core, declared on their own).
NOT_IMPORTED = {"apache-airflow": "the Airflow distribution that runs the jobs"}
# Extras that are development tools, not imported by the package, each pinned in its own lock file
# (`make lock`) that its make target installs: requirements.txt stays what a deployment needs.
TOOL_GROUPS = {"mutation": "requirements-mutation.txt"}

# What the verify path must not load (job-side runtime, heavy or absent from the verify-only install).
# pydantic is not here: the validated settings (pydantic-settings) are part of the verify install.
JOB_SIDE = (
    "airflow",
    "pandas",
    "numpy",
    "pyarrow",
    "scipy",
    "matplotlib",
    "great_expectations",
    "openlineage",
    "attr",
    "yaml",
    "jinja2",
    "rich",
)


def _pyproject() -> dict:
    return tomllib.loads((PROJECT / "pyproject.toml").read_text())


def declared() -> dict[str, dict[str, Requirement]]:
    """Group ("base" or an extra) -> canonical distribution name -> requirement."""
    project = _pyproject()["project"]
    groups = {"base": project.get("dependencies", []), **project.get("optional-dependencies", {})}
    return {
        group: {canonicalize_name(Requirement(r).name): Requirement(r) for r in reqs}
        for group, reqs in groups.items()
    }


def direct_imports() -> dict[str, set[str]]:
    """Absolute third-party module imported -> files importing it (at any level, TYPE_CHECKING too)."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.partition(".")[0]
                if top == "aimsflow" or top in sys.stdlib_module_names or top == "__future__":
                    continue
                found.setdefault(module, set()).add(str(path.relative_to(PROJECT)))
    return found


@cache
def _module_owners() -> dict[str, str]:
    """Installed module (dotted) -> the distribution whose files hold it. Read from each
    distribution's RECORD, without importing anything: namespace packages (``airflow.sdk`` is in
    the Task SDK, ``airflow.providers.smtp`` in its provider) resolve to the right distribution."""
    owners: dict[str, str] = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name == "aimsflow":
            continue
        for file in dist.files or ():
            parts = file.parts
            if not parts or not file.name.endswith(".py") or ".." in parts or parts[0].endswith(".data"):
                continue
            stem = parts[:-1] if file.name == "__init__.py" else (*parts[:-1], file.name[:-3])
            owners.setdefault(".".join(stem), name)
    return owners


def owner(module: str) -> str | None:
    owners = _module_owners()
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        found = owners.get(".".join(parts[:n]))
        if found:
            return found
    return None


def test_every_direct_import_is_declared():
    """A third-party module imported anywhere in include/aimsflow belongs to a distribution declared
    in pyproject.toml (base or an extra). Fails when a new direct import is not declared."""
    all_declared = {name for group in declared().values() for name in group}
    imports = direct_imports()
    assert imports, "the scan found no third-party import at all: it is broken"
    missing = {}
    for module, files in imports.items():
        dist = owner(module)
        assert dist is not None, f"{module} (imported by {sorted(files)}) is not installed"
        if dist not in all_declared:
            missing.setdefault(dist, set()).update(files)
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_every_declared_distribution_is_imported():
    """The reverse: nothing is declared that the package does not import (except NOT_IMPORTED)."""
    imported = {owner(m) for m in direct_imports()}
    for group, reqs in declared().items():
        if group in TOOL_GROUPS:
            continue
        extra = set(reqs) - imported - set(NOT_IMPORTED)
        assert not extra, f"[{group}] declares {sorted(extra)}, which include/aimsflow never imports"


def test_the_scan_sees_namespace_packages_and_declarations():
    """The owner lookup is what makes the two tests above mean anything: check it on known cases."""
    assert owner("airflow.sdk") == "apache-airflow-task-sdk"
    assert owner("airflow.providers.smtp.hooks.smtp") == "apache-airflow-providers-smtp"
    assert owner("yaml") == "pyyaml" and owner("attr") == "attrs"
    assert owner("no_such_module_anywhere") is None
    groups = declared()
    assert set(groups) == {"base", "verify", "jobs", *TOOL_GROUPS}
    assert "pandas" in groups["jobs"] and "pandas" not in groups["base"] | groups["verify"]


def test_verify_extra_and_base_hold_no_job_side_distribution():
    groups = declared()
    job_side = {owner(m) for m in JOB_SIDE if owner(m)} | {"apache-airflow"}
    assert job_side.isdisjoint(groups["base"]) and job_side.isdisjoint(groups["verify"])


def test_the_lock_satisfies_every_declared_range():
    """requirements.txt (what `make install` installs, before `--no-deps -e .`) pins a version of
    every declared distribution inside its declared range."""
    for group, reqs in declared().items():
        lock = TOOL_GROUPS.get(group, "requirements.txt")
        pins = _pins(lock)
        for name, req in reqs.items():
            assert name in pins, f"[{group}] {req} is not in {lock} (make lock)"
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"[{group}] {req}: {lock} pins {pins[name]}"
            )


def _pins(lock: str) -> dict[str, str]:
    pins = {}
    for line in (PROJECT / lock).read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_tool_locks_keep_the_deployment_pins():
    """A tool's lock is compiled within requirements.txt (`make lock`): installing it into the venv
    never moves a version the project pins."""
    deployment = _pins("requirements.txt")
    for lock in TOOL_GROUPS.values():
        moved = {
            n: (v, deployment[n]) for n, v in _pins(lock).items() if n in deployment and v != deployment[n]
        }
        assert not moved, f"{lock} pins other versions than requirements.txt: {moved}"


def test_version_comes_from_one_place():
    """pyproject.toml takes the version from aimsflow.__version__; `aimsflow --version` reads the
    installed metadata, so the two agree."""
    import aimsflow

    assert _pyproject()["project"]["dynamic"] == ["version"]
    assert metadata.version("aimsflow") == aimsflow.__version__


# --- the verify path loads nothing job-side --------------------------------------------------------

_PROBE = """
import json, sys
from aimsflow.cli import main
codes = [main(argv) for argv in ({argvs})]
print(json.dumps({{"codes": codes, "loaded": sorted({{m.partition(".")[0] for m in sys.modules}})}}))
"""


def _run_cli(python: Path, argvs: list[list[str]], env: dict[str, str]) -> dict:
    """Run ``main(argv)`` for each argv in a fresh interpreter; its exit codes and loaded modules."""
    code = _PROBE.format(argvs=", ".join(repr(a) for a in argvs))
    proc = subprocess.run([str(python), "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.fixture
def sealed_store(aims_env):
    """Three signed records of three days and a seal over them, in ``aims_env``'s store."""
    import datetime as dt

    from aimsflow import settings
    from aimsflow.evidence.keys import Signer
    from aimsflow.evidence.record import Producer, RunContext, write_record
    from aimsflow.evidence.seal import Witness, seal_pending
    from aimsflow.evidence.storage import LocalStorage
    from aimsflow.periods import Period
    from aimsflow.results import JobResult, Status, Subject

    storage, signer = LocalStorage(settings.evidence_root()), Signer.from_settings()
    refs = []
    for day in (dt.date(2026, 11, 18), dt.date(2026, 11, 19), dt.date(2026, 11, 20)):
        result = JobResult(
            check="data_quality/loans",
            subject=Subject("loan_approval", "loans", day.isoformat()),
            status=Status.passed,
            controls=("A.7.4",),
            summary={"rows": 10},
            files={"summary.json": b'{"rows": 10}\n'},
        )
        producer = Producer(
            kind="task",
            dag_id="data_quality",
            run_id=f"r{day.day}",
            task_id="validate",
            try_number=1,
            max_tries=2,
            run_type="scheduled",
            run_after=f"{day}T01:00:00+00:00",
        )
        now = dt.datetime.now(dt.UTC)
        refs.append(write_record(storage, result, RunContext(Period.day(day), producer, now, now), signer))
    seal_pending(storage, signer, Witness())
    return storage, refs


def _verify_env(tmp_path: Path) -> dict[str, str]:
    """Only what a verifier needs: the store, the witness and the trusted public keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIMSFLOW_", "AIRFLOW"))}
    env.update(
        AIMSFLOW_EVIDENCE_ROOT=str(tmp_path / "evidence"),
        AIMSFLOW_WITNESS=str(tmp_path / "witness"),
        AIMSFLOW_TRUSTED_KEYS=str(tmp_path / "keys" / "trusted_keys.json"),
    )
    return env


def test_verify_and_list_load_no_job_side_package(sealed_store, tmp_path):
    """`evidence verify`, `evidence list` and `evidence controls` import none of JOB_SIDE, even in
    the full install where all of them are present (the fresh-venv test below proves it for real)."""
    result = _run_cli(
        Path(sys.executable),
        [
            ["evidence", "verify", "--json"],
            ["evidence", "list", "--json"],
            ["evidence", "controls", "--json"],
            ["evidence", "list", "--control", "a.7.4", "--json"],
        ],
        _verify_env(tmp_path),
    )
    assert result["codes"] == [0, 0, 0, 0]
    assert sorted(set(JOB_SIDE) & set(result["loaded"])) == []
    assert "cryptography" in result["loaded"]  # the probe does see third-party modules


# --- the verify-only install, for real -------------------------------------------------------------


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


@pytest.mark.slow
def test_verify_only_install_in_a_fresh_venv(sealed_store, tmp_path):
    """`uv pip install '.[verify]'` into a new venv: Airflow and pandas are not importable there,
    and its `aimsflow evidence verify` passes an intact store and fails a store with one byte
    changed. Prints install time and venv size (compare with .venv, the full install)."""
    uv = Path(sys.executable).parent / "uv"
    if not uv.exists():
        pytest.skip("no uv in the project venv (make install puts it there)")
    venv = tmp_path / "verify-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    started = time.monotonic()
    install = subprocess.run(
        [str(uv), "pip", "install", "--python", str(python), f"{PROJECT}[verify]"],
        capture_output=True,
        text=True,
        timeout=600,
        env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
    )
    seconds = time.monotonic() - started
    assert install.returncode == 0, install.stderr
    size = _du(venv)
    full = Path(sys.executable).parents[1]
    print(
        f"\nverify-only venv: install {seconds:.1f} s, {size / 1e6:.1f} MB; full venv {full}: {_du(full) / 1e6:.0f} MB"
    )

    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.util as u; print([m for m in ('airflow', 'pandas', 'great_expectations', 'numpy') if u.find_spec(m)])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "[]"

    env = _verify_env(tmp_path)
    aimsflow = venv / "bin" / "aimsflow"
    version = subprocess.run([str(aimsflow), "--version"], capture_output=True, text=True, env=env)
    assert version.returncode == 0 and version.stdout.strip() == f"aimsflow {metadata.version('aimsflow')}"

    intact = subprocess.run(
        [str(aimsflow), "evidence", "verify", "--json"], capture_output=True, text=True, env=env
    )
    assert intact.returncode == 0, intact.stderr
    report = json.loads(intact.stdout)
    assert report["ok"] and report["records_checked"] == 3 and report["seals_checked"] == 1

    storage, refs = sealed_store
    path = storage.path(f"{refs[1].key}/summary.json")
    data = bytearray(path.read_bytes())
    data[-2] ^= 0x01  # one byte, same size
    path.write_bytes(bytes(data))
    broken = subprocess.run([str(aimsflow), "evidence", "verify"], capture_output=True, text=True, env=env)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"BROKEN {refs[1].key}/summary.json" in broken.stdout

    listed = subprocess.run(
        [str(aimsflow), "evidence", "list", "--json"], capture_output=True, text=True, env=env
    )
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 3


def test_a_venv_symlink_is_ignored_by_git(tmp_path):
    """Regression: `.gitignore` had `.venv/`, which matches only a directory; a worktree's `.venv`
    symlink to a shared venv was committed, and merging it replaced the real venv with a symlink to
    itself. `.venv` must be ignored as a file, link or folder."""
    import shutil
    import subprocess

    from tests.conftest import PROJECT

    shutil.copy(PROJECT / ".gitignore", tmp_path / ".gitignore")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / ".venv").symlink_to(tmp_path / "elsewhere")
    ignored = subprocess.run(["git", "check-ignore", "-q", ".venv"], cwd=tmp_path, check=False)
    assert ignored.returncode == 0
