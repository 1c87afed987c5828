"""The deployment files say what the code does: every setting the code reads is in
deploy/env.example and reaches compose's web service; compose.yaml is valid against the
compose specification's schema, pins its images and keeps the database passwords away from
the application; the systemd units pass `systemd-analyze verify`; docs/deploy.md names only
management commands that exist; `manage.py check --deploy` with env.example's values warns
about nothing that the settings do not silence with a reason given in docs/deploy.md."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# Read by the code but not production settings: compose leaves them out on purpose.
DEVELOPMENT_ONLY = {"YARITORI_DEMO", "REQUIRE_SERVICES"}
# Set by compose itself, not from deploy/.env.
FIXED_BY_COMPOSE = {"YARITORI_VAR_DIR", "PORT"}
APP_SERVICES = ("migrate", "web", "sequencer", "worker", "beat")
DATABASE_SECRETS = {"POSTGRES_PASSWORD", "YARITORI_OWNER_PASSWORD", "REDIS_PASSWORD"}

_SETTING = re.compile(
    r"""\b(?:env\.(?:str|bool|int|float|list|db|cache_url|email_url|path)|secret_from_env_or_file)"""
    r"""\(\s*["']([A-Z][A-Z0-9_]*)["']"""
)
_ENVIRON = re.compile(r"""os\.environ\.get\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def settings_read_by_the_code() -> set[str]:
    """Every environment variable config/settings.py and deploy/gunicorn.conf.py read."""
    names = set(_SETTING.findall((ROOT / "config" / "settings.py").read_text()))
    names |= set(_ENVIRON.findall((DEPLOY / "gunicorn.conf.py").read_text()))
    return names


def env_example_names() -> set[str]:
    names = set()
    for line in (DEPLOY / "env.example").read_text().splitlines():
        match = re.match(r"#?([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_the_scan_finds_the_settings_it_should():
    found = settings_read_by_the_code()
    for name in ("DJANGO_SECRET_KEY", "DATABASE_URL", "CACHE_URL", "DJANGO_SECURE_COOKIES"):
        assert name in found
    assert {"FORWARDED_ALLOW_IPS", "WEB_CONCURRENCY", "LOG_FORMAT"} <= found
    assert len(found) > 25


def test_every_setting_is_in_env_example():
    missing = settings_read_by_the_code() - env_example_names()
    assert missing == set(), "add them to deploy/env.example"


def test_every_production_setting_reaches_every_app_container():
    production = settings_read_by_the_code() - DEVELOPMENT_ONLY
    services = compose()["services"]
    assert "PORT" in services["web"]["environment"]  # gunicorn's port inside the container
    for name in APP_SERVICES:
        environment = set(services[name]["environment"])
        assert production - {"PORT"} - environment == set(), name
        assert DEVELOPMENT_ONLY & environment == set(), name
        # The database and Redis passwords stay with their own containers; only migrate may
        # connect as the owner.
        assert DATABASE_SECRETS & environment == set(), name
        assert ("DATABASE_OWNER_URL" in environment) == (name == "migrate"), name
    for name in ("DJANGO_SECURE_COOKIES", "FORWARDED_ALLOW_IPS", "CACHE_URL"):
        assert name in services["web"]["environment"]


def test_every_variable_compose_interpolates_is_in_env_example():
    text = (DEPLOY / "compose.yaml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))
    assert used - env_example_names() == set()


def test_compose_defaults_agree_with_the_settings_defaults():
    environment = compose()["services"]["web"]["environment"]
    # An empty boolean would read as false: every boolean has its default spelled out.
    assert environment["DJANGO_SECURE_COOKIES"] == "${DJANGO_SECURE_COOKIES:-true}"
    assert environment["DJANGO_DEBUG"] == "${DJANGO_DEBUG:-false}"
    assert environment["LOG_FORMAT"] == "${LOG_FORMAT:-json}"
    assert environment["CACHE_URL"].startswith("${CACHE_URL:?")


@pytest.mark.slow
def test_compose_is_valid_against_the_compose_specification(tmp_path):
    # check-jsonschema ships a pinned copy of the compose-spec schema (vendor.compose-spec).
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "compose.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # And the checker does reject a broken file.
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  web:\n    image: x\n    helthcheck: {}\n")
    rejected = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rejected.returncode == 1


def test_the_web_service_has_a_readiness_healthcheck():
    test = compose()["services"]["web"]["healthcheck"]["test"]
    assert test == ["CMD", "python", "deploy/healthcheck.py", "http://127.0.0.1:8000/readyz"]
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "deploy/healthcheck.py" in dockerfile  # the probe is in the image


def test_every_image_is_pinned_to_a_release():
    for name, service in compose()["services"].items():
        if "build" in service:
            continue  # built here from deploy/Dockerfile
        image = service["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image else ""
        assert re.match(r"v?\d+\.\d+(\.\d+)?(-[a-z]+)?$", tag), f"{name}: {image}"
    froms = re.findall(r"^FROM\s+(\S+)", (DEPLOY / "Dockerfile").read_text(), re.M)
    assert froms and all(re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", f) for f in froms)


def _fake_root(tmp_path: Path) -> Path:
    """A root for `systemd-analyze verify --root`: the system's own units and the programs
    the units run (empty stand-ins for the virtualenv's), so that verify checks our units and
    not whether /opt/yaritori exists on this machine."""
    root = tmp_path / "root"
    (root / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    for program in ("/bin/sh", "/bin/kill"):
        target = root / program.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(program, target)
    venv = root / "opt/yaritori/venv/bin"
    venv.mkdir(parents=True)
    for program in ("python", "gunicorn", "celery"):
        (venv / program).write_text("#!/bin/sh\n")
        (venv / program).chmod(0o755)
    (root / "etc/yaritori").mkdir(parents=True)
    (root / "etc/yaritori/env").write_text("")
    units = root / "etc/systemd/system"
    units.mkdir(parents=True)
    for unit in (DEPLOY / "systemd").iterdir():
        shutil.copy(unit, units / unit.name)
    return root


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
@pytest.mark.skipif(not Path("/usr/lib/systemd/system").is_dir(), reason="needs systemd's units")
def test_the_systemd_units_verify(tmp_path):
    root = _fake_root(tmp_path)
    units = sorted(p.name for p in (DEPLOY / "systemd").iterdir())
    assert "yaritori-readyz.timer" in units and "yaritori-web.service" in units
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", *units],
        cwd=root / "etc/systemd/system",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    # verify does complain about a broken unit here.
    broken = root / "etc/systemd/system/yaritori-broken.service"
    broken.write_text("[Service]\nExecStart=/opt/yaritori/venv/bin/python\nTimeoutStpSec=5\n")
    complaint = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", broken.name],
        cwd=broken.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Unknown key" in complaint.stderr


def _management_commands() -> set[str]:
    found = set()
    for folder in ROOT.glob("*/management/commands"):
        found |= {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")}
    from django.core.management import get_commands

    return found | set(get_commands())


@pytest.mark.parametrize("doc", ["docs/deploy.md", "docs/operations.md", "README.md"])
def test_the_docs_name_only_commands_that_exist(doc):
    text = (ROOT / doc).read_text()
    named = set(re.findall(r"manage\.py\s+([a-z_]+)", text))
    named |= set(re.findall(r"yaritori-manage\s+(?:--owner\s+)?([a-z_]+)", text))
    named |= set(re.findall(r"django-admin\s+([a-z_]+)", text))
    assert named, doc
    assert named - _management_commands() == set()
    assert "(planned)" not in text


def test_the_docs_count_the_ledger_tables():
    from audit.db_guards import LEDGER_TABLES

    text = (ROOT / "docs/deploy.md").read_text()
    for table in LEDGER_TABLES:
        assert table in text, table


def test_the_docs_state_gunicorns_default_worker_count():
    text = (ROOT / "docs/deploy.md").read_text() + (DEPLOY / "env.example").read_text()
    assert "2 x CPUs" not in text
    assert "CPUs + 1, at most 12" in (DEPLOY / "env.example").read_text()


def _env_example_values() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "env.example").read_text().splitlines():
        match = re.match(r"([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


@pytest.mark.slow
def test_check_deploy_with_env_example_warns_only_about_what_is_explained(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "CACHE_", "YARITORI_"))
    }
    env.update(_env_example_values())
    env.update(
        YARITORI_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="config.settings",
        # What an operator sets (env.example leaves them to them, docs/deploy.md).
        DJANGO_ALLOWED_HOSTS="yaritori.example.org",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://yaritori.example.org",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (" in result.stdout
    # Each check the settings silence is explained, by its id, in docs/deploy.md.
    from django.conf import settings

    deploy = (ROOT / "docs/deploy.md").read_text()
    assert settings.SILENCED_SYSTEM_CHECKS
    for check in settings.SILENCED_SYSTEM_CHECKS:
        assert f"`{check}`" in deploy, check


@pytest.mark.skipif(not shutil.which("nginx"), reason="needs nginx")
def test_the_nginx_configuration_is_accepted_by_nginx(tmp_path):
    """`nginx -t` on deploy/nginx/yaritori.conf inside an http block, with a throwaway
    certificate and log paths in tmp (the file's own paths need root and a real certificate)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key)),
            *("-out", str(cert), "-subj", "/CN=yaritori.example.org", "-days", "1"),
        ],
        check=True,
        capture_output=True,
    )
    site = (DEPLOY / "nginx" / "yaritori.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/yaritori.example.org/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/yaritori.example.org/privkey.pem", str(key))
    site = site.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "site.conf").write_text(site)
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n    include {tmp_path}/site.conf;\n}}\n"
    )
    result = subprocess.run(
        ["nginx", "-t", "-c", str(main)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "proxy_set_header X-Request-ID $request_id;" in site
    assert re.search(r"location ~ \^/\(healthz\|readyz\)\$ \{\s*allow 127\.0\.0\.1;", site)
