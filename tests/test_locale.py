"""The committed Japanese catalogue: complete, and its compiled .mo says what the .po says.

The .mo is committed so that `make run` needs no gettext tools; this test catches a .po edited
without `make messages`.
"""

import gettext

from babel.messages.pofile import read_po
from django.conf import settings

LOCALE = settings.BASE_DIR / "locale" / "ja" / "LC_MESSAGES"


def _catalogue():
    with (LOCALE / "django.po").open("rb") as f:
        return read_po(f, locale="ja")


def test_every_message_is_translated_and_none_is_fuzzy():
    untranslated = [
        m.id
        for m in _catalogue()
        if m.id and (m.fuzzy or not any(m.string if isinstance(m.string, tuple) else [m.string]))
    ]
    assert untranslated == []


def test_compiled_catalogue_matches_the_source():
    with (LOCALE / "django.mo").open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    stale = []
    for message in _catalogue():
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            singular, plural = message.id
            got = compiled.ngettext(singular, plural, 1)
            want = message.string[0]
        elif message.context:
            got, want = compiled.pgettext(message.context, message.id), message.string
        else:
            got, want = compiled.gettext(message.id), message.string
        if got != want:
            stale.append(message.id)
    assert stale == []
