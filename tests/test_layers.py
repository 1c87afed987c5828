"""The layout as a contract: the layers are checked by import-linter (`make lint`); these tests
keep its contracts complete and check what import-linter cannot see."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("config", "core", "audit", "agencies", "portal", "detection", "dashboard")


def _contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_the_pure_verifier_contract_names_every_other_module_of_audit():
    [pure] = [c for c in _contracts() if c.get("source_modules") == ["audit.tlog"]]
    others = {
        f"audit.{path.stem}" if path.is_file() else f"audit.{path.name}"
        for path in (ROOT / "audit").iterdir()
        if path.name not in ("tlog", "__init__.py", "__pycache__")
        and (path.suffix == ".py" or (path / "__init__.py").exists())
    }
    assert others == {m for m in pure["forbidden_modules"] if m.startswith("audit.")}


def test_production_settings_install_neither_the_demo_nor_the_benchmarks(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "YARITORI_DEMO"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", YARITORI_VAR_DIR=str(tmp_path))
    apps = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(' '.join(settings.INSTALLED_APPS))",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "agencies" in apps and "audit" in apps
    assert "demo" not in apps and "bench" not in apps


def test_the_demo_password_and_population_live_only_in_demo():
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*"):
            if path.suffix in (".py", ".json", ".html", ".txt") and "__pycache__" not in path.parts:
                text = path.read_text(encoding="utf-8")
                assert "yaritori-demo" not in text, path
                assert "demo_world" not in text, path
