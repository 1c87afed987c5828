"""The OpenAPI schema generates and validates with warnings treated as errors."""

import io

from django.core.management import call_command


def test_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    err = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target), stderr=err)
    text = target.read_text()
    assert "/api/log/checkpoint" in text
    assert "/api/log/consistency" in text
