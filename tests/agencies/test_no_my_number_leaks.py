"""After loading the demo world, no demo person's My Number appears in clear anywhere: not in
any table of the database, not in a dumpdata dump, not in the log output or the command's
output, and not in any file under var/ (mail, keys, the demo API key file)."""

import io
import logging
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from agencies.models import Person
from agencies.mynumber_crypto import decrypt_my_number


def _all_table_text() -> str:
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, (bytes, bytearray, memoryview)):
                        raw = bytes(value)
                        parts.append(raw.decode("latin-1"))
                        parts.append(raw.hex())
                    else:
                        parts.append(str(value))
    return "\n".join(parts)


def _var_files_text() -> str:
    var = Path(settings.VAR_DIR)
    chunks = []
    for path in var.rglob("*"):
        if path.is_file() and not path.name.startswith("yaritori.sqlite3"):
            chunks.append(path.read_bytes().decode("latin-1"))
    return "\n".join(chunks)


@pytest.mark.django_db
def test_demo_world_never_shows_a_my_number(caplog, capsys, settings, tmp_path):
    # Everything the loader writes goes to a var/ of this test's own.
    settings.VAR_DIR = tmp_path
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    caplog.set_level(logging.DEBUG)
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "seed_demo",
        "--residents",
        "300",
        "--seed",
        "11",
        "--api-keys-file",
        str(tmp_path / "demo_api_keys.txt"),
        stdout=out,
        stderr=err,
    )
    assert (tmp_path / "demo_api_keys.txt").exists()

    numbers = {
        decrypt_my_number(key_id, blob, person_public_id=str(public_id))
        for public_id, key_id, blob in Person.objects.exclude(
            my_number_ciphertext=None
        ).values_list("public_id", "my_number_key_id", "my_number_ciphertext")
    }
    assert len(numbers) >= 300

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    captured = capsys.readouterr()
    haystacks = {
        "database tables": _all_table_text(),
        "dumpdata": dump.getvalue(),
        "log records": caplog.text,
        "command output": out.getvalue() + err.getvalue() + captured.out + captured.err,
        "var/ files (mail, keys, API keys)": _var_files_text(),
    }
    # The search itself must work: it sees every person row and the 符号 table.
    some_person = Person.objects.order_by("?").first()
    assert str(some_person.public_id).replace("-", "") in haystacks["database tables"].replace(
        "-", ""
    )
    assert some_person.tokens.first().token in haystacks["dumpdata"]
    for where, text in haystacks.items():
        leaked = [n for n in numbers if n in text]
        assert leaked == [], f"{len(leaked)} My Numbers in clear in {where}"
