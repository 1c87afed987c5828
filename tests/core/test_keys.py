"""core.keys.secret_from_env_or_file: a secret from NAME, NAME_FILE or the demo's key file;
an optional one (make None, LEDGER_SUBJECT_KEY) is never generated."""

from __future__ import annotations

from core.keys import secret_from_env_or_file

NAME = "YARITORI_TEST_SECRET"


def test_a_required_secret_is_generated_once(tmp_path, monkeypatch):
    monkeypatch.delenv(NAME, raising=False)
    monkeypatch.delenv(NAME + "_FILE", raising=False)
    path = tmp_path / "keys" / "secret"
    assert secret_from_env_or_file(NAME, path, lambda: "first") == "first"
    assert secret_from_env_or_file(NAME, path, lambda: "second") == "first"


def test_an_optional_secret_is_empty_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(NAME, raising=False)
    monkeypatch.delenv(NAME + "_FILE", raising=False)
    path = tmp_path / "keys" / "optional"
    assert secret_from_env_or_file(NAME, path, None) == ""
    assert not path.exists() and not path.parent.exists()


def test_an_optional_secret_is_read_from_env_file_or_key_file(tmp_path, monkeypatch):
    monkeypatch.delenv(NAME, raising=False)
    monkeypatch.delenv(NAME + "_FILE", raising=False)
    path = tmp_path / "optional"
    path.write_text("from-key-file\n")
    assert secret_from_env_or_file(NAME, path, None) == "from-key-file"
    named = tmp_path / "named"
    named.write_text("from-named-file\n")
    monkeypatch.setenv(NAME + "_FILE", str(named))
    assert secret_from_env_or_file(NAME, path, None) == "from-named-file"
    monkeypatch.setenv(NAME, "from-env")
    assert secret_from_env_or_file(NAME, path, None) == "from-env"
