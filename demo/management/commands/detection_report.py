"""manage.py detection_report: how well misuse detection finds the demo's labelled misuse.

Reads the labels that `seed_demo --traffic` wrote (request_id and kind per injected request),
catches the scanner up, and compares: recall and precision per rule family and per rule,
recall per kind, and the share of legitimate requests that a case (or a batch query)
explains. The labels are read here, for measuring, and nowhere in the product: the rules
(detection.engine) never see them, nor anything of the demo.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.models import LedgerEntry
from demo.misuse import MISUSE_KINDS
from detection.models import Access, AlertEntry
from detection.rules import RULES, Family
from detection.scanner import ACCESS_TYPES, scan_until_caught_up

# Which family of rules is meant to find each kind of injected misuse: the kinds the
# acceptance criteria list under each family. A request found by a rule of another family is
# still found (see "by any rule"); recall per family counts its own rules only.
KIND_FAMILY = {
    "out_of_table": Family.HARD,
    "tax_without_consent": Family.HARD,
    "dv_protected": Family.HARD,
    "unassigned_affair": Family.HARD,
    "closed_case": Family.HARD,
    "no_case": Family.EXPLANATION,
    "household_swap": Family.EXPLANATION,
    "self_lookup": Family.BEHAVIOUR,
    "same_surname_address": Family.BEHAVIOUR,
    "coworker": Family.BEHAVIOUR,
    "celebrity": Family.BEHAVIOUR,
    "volume_spike": Family.BEHAVIOUR,
    "off_hours": Family.BEHAVIOUR,
    "repeat_subject": Family.BEHAVIOUR,
    "multi_terminal": Family.BEHAVIOUR,
}
TARGETS = {
    Family.HARD: (1.0, None),
    Family.BEHAVIOUR: (0.85, 0.8),
}
EXPLAINED_TARGET = 0.95


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def detection_figures(labels: dict[str, str]) -> dict[str, Any]:
    """The report's figures for labels (request id -> kind), from the alerts recorded."""
    seq_of = dict(
        LedgerEntry.objects.filter(
            intake__lookup_key__in=list(labels), intake__event_type__in=ACCESS_TYPES
        ).values_list("intake__lookup_key", "seq")
    )
    kind_of = {seq_of[rid]: kind for rid, kind in labels.items() if rid in seq_of}
    universe = dict(Access.objects.values_list("seq", "explained"))
    flagged: dict[str, set[int]] = defaultdict(set)  # by rule
    for seq, rule in AlertEntry.objects.values_list("seq", "alert__rule"):
        flagged[rule].add(seq)
    by_family: dict[str, set[int]] = defaultdict(set)
    for rule, seqs in flagged.items():
        by_family[RULES[rule].family] |= seqs
    anything = set().union(*flagged.values()) if flagged else set()
    misuse = set(kind_of)

    families = {}
    for family in Family.values:
        labelled = {s for s, k in kind_of.items() if KIND_FAMILY.get(k) == family}
        found = by_family.get(family, set())
        families[family] = {
            "labelled": len(labelled),
            "found": len(labelled & found),
            "found_by_any_rule": len(labelled & anything),
            "recall": _ratio(len(labelled & found), len(labelled)),
            "flagged": len(found),
            "flagged_misuse": len(found & misuse),
            "precision": _ratio(len(found & misuse), len(found)),
            "precision_same_family": _ratio(len(found & labelled), len(found)),
        }
    kinds = {}
    for kind in sorted(set(kind_of.values()) | set(MISUSE_KINDS)):
        seqs = {s for s, k in kind_of.items() if k == kind}
        kind_family: str | None = KIND_FAMILY.get(kind)
        own = by_family.get(kind_family, set()) if kind_family else set()
        kinds[kind] = {
            "family": kind_family or "unmapped",
            "labelled": len(seqs),
            "recall": _ratio(len(seqs & own), len(seqs)),
            "recall_any_rule": _ratio(len(seqs & anything), len(seqs)),
        }
    rules = {
        code: {
            "family": RULES[code].family,
            "flagged": len(seqs),
            "misuse": len(seqs & misuse),
            "precision": _ratio(len(seqs & misuse), len(seqs)),
        }
        for code, seqs in sorted(flagged.items())
    }
    legitimate = {s: e for s, e in universe.items() if s not in misuse}
    explained = sum(1 for e in legitimate.values() if e)
    return {
        "requests": len(universe),
        "labelled": len(kind_of),
        "labels_not_found": len(labels) - len(kind_of),
        "families": families,
        "kinds": kinds,
        "rules": rules,
        "legitimate": len(legitimate),
        "legitimate_explained": explained,
        "explained_share": _ratio(explained, len(legitimate)),
        "legitimate_flagged": len(set(legitimate) & anything),
    }


class Command(BaseCommand):
    help = (
        "Precision and recall of misuse detection per rule family on the labelled misuse of "
        "`seed_demo --traffic` (var/labels.jsonl), and the share of legitimate requests a "
        "case explains. Catches the scanner up first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--labels", type=Path, default=None)
        parser.add_argument("--no-scan", action="store_true", help="report on alerts as they are")
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["labels"] or Path(settings.VAR_DIR) / "labels.jsonl"
        if not path.exists():
            raise CommandError(f"no labels at {path}: run `manage.py seed_demo --traffic 14`")
        labels = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                labels[row["request_id"]] = row["kind"]
        if not options["no_scan"]:
            while (result := scan_until_caught_up(max_seconds=3600)).scanned:
                pass
            if result.busy:
                raise CommandError("another scanner holds the watermark; try again")
        figures = detection_figures(labels)
        if options["json"]:
            self.stdout.write(json.dumps(figures, indent=2, ensure_ascii=False))
            return
        self._print(figures)

    def _print(self, f: dict[str, Any]) -> None:
        out = self.stdout.write
        out(
            f"{f['requests']} requests scanned; {f['labelled']} labelled as misuse "
            f"({f['labels_not_found']} labels without an entry)"
        )
        out("")
        out("family        labelled  found  recall  (any rule)  flagged  precision  target")
        for family, x in f["families"].items():
            target = TARGETS.get(family)
            goal = (
                f"recall >= {target[0]}" + (f", precision >= {target[1]}" if target[1] else "")
                if target
                else ""
            )
            any_rule = _ratio(x["found_by_any_rule"], x["labelled"])
            out(
                f"{family:<13} {x['labelled']:>8} {x['found']:>6} {_fmt(x['recall']):>7} "
                f"{_fmt(any_rule):>11} {x['flagged']:>8} {_fmt(x['precision']):>10}  {goal}"
            )
        out("")
        out("kind                  family       labelled  recall  (any rule)")
        for kind, x in f["kinds"].items():
            out(
                f"{kind:<21} {x['family']:<12} {x['labelled']:>8} {_fmt(x['recall']):>7} "
                f"{_fmt(x['recall_any_rule']):>11}"
            )
        out("")
        out("rule                       flagged  misuse  precision")
        for code, x in f["rules"].items():
            out(f"{code:<26} {x['flagged']:>7} {x['misuse']:>7} {_fmt(x['precision']):>10}")
        out("")
        out(
            f"legitimate requests explained by a case or batch: {f['legitimate_explained']} of "
            f"{f['legitimate']} = {_fmt(f['explained_share'])} (target >= {EXPLAINED_TARGET}); "
            f"legitimate requests with any alert: {f['legitimate_flagged']}"
        )
