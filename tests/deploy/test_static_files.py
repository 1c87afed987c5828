"""Static files in production: collectstatic with the production storage (WhiteNoise's
CompressedManifestStaticFilesStorage) writes hashed, gzipped copies, and the pages name the
hashed files, which WhiteNoise serves with a year's caching. The suite itself renders pages
with the plain storage (config/test_settings.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import django
django.setup()
from django.test import Client
c = Client()
docs = c.get("/api/docs/").content.decode()
login = c.get("/staff/login/", secure=True).content.decode()
css = [u for u in __import__("re").findall(r'href="(/static/[^"]+\\.css)"', login)]
print(css[0])
asset = c.get(css[0], secure=True)
print(asset.status_code, asset.headers.get("Cache-Control"))
print(" ".join(__import__("re").findall(r'src="(/static/[^"]+)"', docs)))
"""


@pytest.mark.slow
def test_collectstatic_hashes_and_compresses_and_pages_use_the_hashed_names(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "YARITORI_DEMO", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        YARITORI_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="config.settings",
        CELERY_BROKER_URL="memory://",
        DJANGO_ALLOWED_HOSTS="testserver",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    static = tmp_path / "static"
    manifest = static / "staticfiles.json"
    assert manifest.is_file()
    hashed_css = list(static.glob("yaritori/site.*.css"))
    assert hashed_css and re.fullmatch(r"site\.[0-9a-f]{12}\.css", hashed_css[0].name)
    assert (hashed_css[0].parent / (hashed_css[0].name + ".gz")).is_file()
    assert list(static.glob("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.*.js.gz"))
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    css, served, docs_scripts = probe.stdout.strip().splitlines()
    assert re.fullmatch(r"/static/yaritori/site\.[0-9a-f]{12}\.css", css)
    status, cache_control = served.split(" ", 1)
    assert status == "200" and "max-age=315360000" in cache_control and "immutable" in cache_control
    assert all(re.search(r"\.[0-9a-f]{12}\.", url) for url in docs_scripts.split())
