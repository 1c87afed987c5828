"""The lock files and the wheel: what `make`, CI and deploy/Dockerfile install is pinned with
hashes and agrees with pyproject.toml; the wheel carries every template, catalogue, static file
and data file, and the project runs from it alone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "requirements"


def _pins(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a pip-compile lock file."""
    pins: dict[str, tuple[str, list[str]]] = {}
    # One requirement per logical line: "name==version \" then "--hash=sha256:..." lines.
    text = path.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})*)", line)
        assert match, f"{path.name}: not a pinned, hashed requirement: {line[:80]}"
        hashes = re.findall(r"sha256:([0-9a-f]{64})", match.group(3))
        pins[canonicalize_name(match.group(1))] = (match.group(2), hashes)
    return pins


def _declared(extra: str | None = None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [Requirement(text) for text in texts]


def test_every_lock_pins_every_package_with_hashes():
    for name in ("build.txt", "base.txt", "dev.txt"):
        pins = _pins(LOCKS / name)
        assert pins, name
        for package, (_version, hashes) in pins.items():
            assert hashes, f"{name}: {package} has no hash"


def test_production_and_development_locks_agree():
    base, dev, build = (_pins(LOCKS / n) for n in ("base.txt", "dev.txt", "build.txt"))
    for package, (version, _) in base.items():
        assert dev[package][0] == version, package
    for package, (version, _) in build.items():
        if package in dev:
            assert dev[package][0] == version, package
    # Production carries none of the development tools.
    for tool in ("pytest", "ruff", "mypy", "playwright", "pip-tools", "honcho"):
        assert tool not in base, tool


@pytest.mark.parametrize(("extra", "lock"), [(None, "base.txt"), ("dev", "dev.txt")])
def test_the_locked_versions_satisfy_pyproject_ranges(extra, lock):
    pins = _pins(LOCKS / lock)
    for requirement in _declared(extra):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is declared in pyproject.toml but not locked in {lock}"
        version = pins[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {name}=={version}, outside pyproject.toml's {requirement.specifier}"
        )
        # A range must say what was tested: a lower bound, and no bound below the lock's major.
        if str(requirement.specifier):
            assert any(s.operator in (">=", "==", "~=") for s in requirement.specifier), name


def test_make_ci_and_the_image_install_from_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    stamp_rule = makefile.split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "--require-hashes -r requirements/dev.txt" in stamp_rule
    assert "--require-hashes -r requirements/build.txt" in stamp_rule
    assert "--no-deps --no-build-isolation -e ." in stamp_rule
    assert re.search(r"^lock:", makefile, re.M)
    # CI installs through make (its lint, typecheck and test targets depend on the stamp).
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make lint typecheck" in ci and "make test" in ci
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    install = dockerfile.index("--require-hashes -r /tmp/requirements/base.txt")
    copy_source = dockerfile.index("COPY . ")
    assert install < copy_source, "dependencies must be installed before the source is copied"


def _source_files() -> list[str]:
    """The files git would commit (tracked or new, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [name for name in listed if (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built from a copy of the source tree (the build writes build/ and
    *.egg-info beside the sources), with the locked setuptools and no download."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    for name in _source_files():
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / name).read_bytes())
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(tmp / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = (tmp / "dist").glob("yaritori-*.whl")
    return built


def _expected_in_wheel() -> dict[str, str]:
    """Source file -> its path in the wheel, for every file the running site needs."""
    expected = {}
    for name in _source_files():
        parts = Path(name).parts
        if parts[0] in ("tests", "demo", "bench", "deploy", "docs"):
            continue
        site = (parts[0], Path(name).suffix) in {
            ("templates", ".html"),
            ("templates", ".txt"),
            ("locale", ".po"),
            ("locale", ".mo"),
        }
        in_app = len(parts) > 2 and (
            parts[1] in ("templates", "static") or (parts[1] == "data" and name.endswith(".json"))
        )
        if site:
            expected[name] = f"config/site/{name}"  # moved into the config package (setup.py)
        elif in_app:
            expected[name] = name
    return expected


@pytest.mark.slow
def test_the_wheel_carries_every_template_catalogue_static_and_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = _expected_in_wheel()
    # What the question names, so that the list above cannot quietly shrink.
    for must in (
        "templates/base.html",
        "locale/ja/LC_MESSAGES/django.po",
        "locale/ja/LC_MESSAGES/django.mo",
        "agencies/data/permitted_table.json",
        "portal/static/yaritori/site.css",
    ):
        assert must in expected, must
    assert any(n.startswith("agencies/templates/") for n in expected)
    missing = sorted(src for src, packed in expected.items() if packed not in names)
    assert missing == []
    # The development apps and the tests are not in the product.
    assert not [n for n in names if n.split("/")[0] in ("demo", "bench", "tests")]


@pytest.mark.slow
def test_the_site_runs_from_the_wheel_alone(wheel, tmp_path):
    """Unpacked on its own (no source tree on the path), the settings find the packaged
    templates, the Japanese catalogue and the static files."""
    unpacked = tmp_path / "site-packages"
    zipfile.ZipFile(wheel).extractall(unpacked)
    probe = """
import django, pathlib
from django.conf import settings
django.setup()
import config
from django.contrib.staticfiles import finders
from django.template.loader import get_template
from django.utils import translation
print(pathlib.Path(config.__file__).parent)
print(get_template("base.html").origin.name)
print(get_template("security/locked_out.html").origin.name)
print(get_template("agencies/staff/login.html").origin.name)
print(finders.find("yaritori/site.css"))
with translation.override("ja"):
    print(translation.gettext("Log in"))
"""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "PYTHONPATH", "YARITORI_DEMO")
    }
    env.update(
        PYTHONPATH=str(unpacked),
        DJANGO_SETTINGS_MODULE="config.settings",
        YARITORI_VAR_DIR=str(tmp_path / "var"),
        CELERY_BROKER_URL="memory://",
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert all(line.startswith(str(unpacked)) for line in lines[:5]), lines
    assert lines[5] != "Log in"  # translated: the packaged .mo was found
