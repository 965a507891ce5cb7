"""The package as pip builds it: a wheel with the LICENSE, the SPDX license, py.typed, the shipped data
(assets, schemas, the catalog) and a version and commit from git that an installed copy reports."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_wheel_carries_license_version_commit_and_data(tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr[-3000:]
    (wheel,) = tmp_path.glob("sdo_bench-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    info = next(n for n in names if n.endswith(".dist-info/METADATA")).rsplit("/", 1)[0]
    assert f"{info}/licenses/LICENSE" in names
    for path in ("sdo_bench/py.typed", "sdo_bench/catalog.json", "sdo_bench/schemas/record.schema.json",
                 "sdo_bench/assets/digits/classifier.pt", "sdo_bench/_version.py"):  # fmt: skip
        assert path in names, path
    meta = zipfile.ZipFile(wheel).read(f"{info}/METADATA").decode()
    assert "License-Expression: MIT" in meta and "Classifier: Typing :: Typed" in meta
    assert "Project-URL: Source" in meta
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    version = next(line.split(": ", 1)[1] for line in meta.splitlines() if line.startswith("Version: "))
    built = zipfile.ZipFile(wheel).read("sdo_bench/_version.py").decode()
    if head:  # built from a checkout: the version and the file name the commit
        assert f"g{head[:7]}" in version or "+" not in version, version
        assert head[:7] in built, built
    # the installed copy's --version: no git around it, the commit from the build's record
    zipfile.ZipFile(wheel).extractall(tmp_path / "unpacked")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from sdo_bench.records import buildinfo; "
        "print(buildinfo.text())"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "unpacked")], capture_output=True,
                         text=True, cwd=tmp_path, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    if head:
        assert head[:7] in out.stdout and "from build" in out.stdout, out.stdout
