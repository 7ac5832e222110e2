"""The sample ships with the package: it loads from a built wheel, outside the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT, SAMPLE_TODAY

PROCURE = [sys.executable, "-c", "from procure.cli import main; main()"]


def test_the_documented_sample_is_the_shipped_one() -> None:
    shipped = ROOT / "procure" / "sample" / "workspace.yaml"
    assert (ROOT / "sample_data" / "workspace.yaml").read_bytes() == shipped.read_bytes()


def test_init_with_sample_from_a_wheel_outside_the_repository(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the repository
    shutil.copytree(
        ROOT / "procure", source / "procure", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    build = ["wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir"]
    subprocess.run(
        [sys.executable, "-m", "pip", *build, str(tmp_path / "dist"), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("procure-*.whl")
    installed = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        assert "procure/sample/workspace.yaml" in archive.namelist()
        archive.extractall(installed)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [*PROCURE, "--home", "ws", "init", "--with-sample", f"--today={SAMPLE_TODAY}"],
        cwd=elsewhere,
        env={**os.environ, "PYTHONPATH": str(installed), "PYTHONSAFEPATH": "1"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "sample workspace loaded" in done.stdout
    assert (
        str(installed)
        in subprocess.run(
            [sys.executable, "-c", "import procure; print(procure.__file__)"],
            cwd=elsewhere,
            env={**os.environ, "PYTHONPATH": str(installed), "PYTHONSAFEPATH": "1"},
            capture_output=True,
            text=True,
        ).stdout
    )
