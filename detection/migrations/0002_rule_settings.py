"""One RuleSetting row per rule of the first catalogue, at its defaults, so that auditors find
every rule in the admin. A rule added later comes with a migration of its own (a test checks
that every rule of the catalogue has its row). Written without ledger entries: these are the
defaults the code ships with, not a change anyone made."""

from django.db import migrations

RULES = {
    "hard.out_of_table": {},
    "hard.consent_missing": {},
    "hard.nondisclosure": {},
    "hard.not_assigned": {},
    "hard.case_invalid": {},
    "hard.outside_ordinance": {},
    "explain.no_case": {},
    "explain.outside_case": {},
    "behaviour.self_lookup": {},
    "behaviour.kin": {},
    "behaviour.coworker": {},
    "behaviour.watchlist": {},
    "behaviour.many_staff": {"window_minutes": 60, "min_staff": 4},
    "behaviour.volume": {"min_count": 20, "factor": 3, "baseline_days": 28},
    "behaviour.off_hours": {"grace_minutes": 30},
    "behaviour.repeat_subject": {"window_minutes": 480, "min_count": 6},
    "behaviour.multi_terminal": {"gap_minutes": 5},
}


def create(apps, schema_editor):
    RuleSetting = apps.get_model("detection", "RuleSetting")
    for code, params in RULES.items():
        RuleSetting.objects.get_or_create(code=code, defaults={"enabled": True, "params": params})


class Migration(migrations.Migration):
    dependencies = [("detection", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
