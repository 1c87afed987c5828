"""The rule catalogue (検知規則): every rule's code, family, severity, how its findings are
grouped into alerts, its explanation in Japanese and English, and the parameters auditors may
set (RuleSetting, changed through detection.services.rule_setting_change, each change a
ledger entry).

What each rule decides is in detection.engine; this module only names and describes them, so
that the admin, the mails, the report and docs/detection.md read the same words.

Three families:
- hard (明白な違反): the network refused the request for a reason that is itself a violation
  (out of the permitted table, no consent, not assigned, a case that does not allow it), or a
  request reached a 不開示 subject with no case behind it;
- explanation (説明可能性): a request that no open case (or batch query) of the requesting
  department explains — explanation-based auditing;
- behaviour (行動): patterns of an account that a permitted and even explained request can
  still show: the clerk's own record, relatives, coworkers, the auditors' watchlist, bursts,
  volume, hours, repetition and shared accounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class Family(models.TextChoices):
    HARD = "hard", _("Hard rule")
    EXPLANATION = "explanation", _("No explanation")
    BEHAVIOUR = "behaviour", _("Behaviour")


class Severity(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class GroupBy(models.TextChoices):
    """What one alert is about: its findings of one (Tokyo) day are one alert."""

    STAFF = "staff", _("Staff member")
    SUBJECT = "subject", _("Subject")
    STAFF_SUBJECT = "staff_subject", _("Staff member and subject")


@dataclass(frozen=True)
class Param:
    """A threshold auditors may set: a whole number within [minimum, maximum]."""

    name: str
    default: int
    minimum: int
    maximum: int
    help_ja: str
    help_en: str


@dataclass(frozen=True)
class Rule:
    """One detection rule as auditors and mail recipients see it."""

    code: str
    family: str
    severity: str
    group_by: str
    title_ja: str
    title_en: str
    explanation_ja: str
    explanation_en: str
    params: tuple[Param, ...] = ()

    def defaults(self) -> dict[str, int]:
        """The rule's parameters at their defaults."""
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> Param:
        """The declared parameter `name` (KeyError if the rule has none of that name)."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


# Refusal reasons of the network gate (agencies.network.reasons) that are violations in
# themselves, by the hard rule that reports them. Reasons that are only errors (an unknown
# subject, a missing 符号, a reused request id) are not misuse and are not listed.
HARD_REASONS: Mapping[str, str] = {
    "not_in_permitted_table": "hard.out_of_table",
    "rule_not_valid_on_date": "hard.out_of_table",
    "affair_not_notified": "hard.out_of_table",
    "provider_is_requester": "hard.out_of_table",
    "wrong_institution": "hard.out_of_table",
    "consent_missing": "hard.consent_missing",
    "staff_not_assigned": "hard.not_assigned",
    "case_closed": "hard.case_invalid",
    "case_other_department": "hard.case_invalid",
    "case_affair_mismatch": "hard.case_invalid",
    # 庁内連携 outside the organisation's ordinance table (the domain's 庁内連携 check).
    "not_in_ordinance": "hard.outside_ordinance",
}

_RULES = (
    Rule(
        "hard.out_of_table",
        Family.HARD,
        Severity.HIGH,
        GroupBy.STAFF,
        "連携許可表にない照会",
        "Query outside the permitted table",
        "情報提供ネットワークシステムが、別表第二（主務省令）にない組合せ、適用期間外、届出前の独自利用"
        "事務、自機関あて、または所属外機関としての照会を拒否しました。",
        "The network refused a query that the permitted table does not allow: a combination "
        "not in the table, a row not in force that day, an independent-use affair not yet "
        "notified, the requester itself as provider, or an institution not the clerk's own.",
    ),
    Rule(
        "hard.consent_missing",
        Family.HARD,
        Severity.HIGH,
        GroupBy.STAFF,
        "本人同意のない照会",
        "Query without the person's consent",
        "本人同意が必要な特定個人情報（地方税関係情報など）を、有効な同意なしに照会しました。",
        "An item that needs the person's consent for this affair (e.g. local tax information) "
        "was queried without a consent in force.",
    ),
    Rule(
        "hard.nondisclosure",
        Family.HARD,
        Severity.HIGH,
        GroupBy.STAFF,
        "不開示対象者への説明のない照会",
        "Unexplained query about a protected person",
        "不開示（DV等支援措置）の対象者について、照会した課に当該事務の受付中の案件がない照会です。"
        "この警報は国の監査担当にのみ通知されます。",
        "A person protected from disclosure (DV support measure) was queried with no open case "
        "of the requesting department in that affair. Reported to the national auditors only.",
    ),
    Rule(
        "hard.not_assigned",
        Family.HARD,
        Severity.HIGH,
        GroupBy.STAFF,
        "担当外の事務での照会",
        "Query for an affair the clerk is not assigned to",
        "職員が担当として登録されていない事務手続で照会しました。",
        "The staff member queried for an affair they are not assigned to.",
    ),
    Rule(
        "hard.case_invalid",
        Family.HARD,
        Severity.HIGH,
        GroupBy.STAFF,
        "理由にならない案件での照会",
        "Query under a case that cannot explain it",
        "完結済み（または受付前）の案件、他の課の案件、または別の事務の案件を理由に照会しました。",
        "The query named a case that was closed (or not yet opened), of another department, "
        "or of another affair.",
    ),
    Rule(
        "hard.outside_ordinance",
        Family.HARD,
        Severity.HIGH,
        GroupBy.STAFF,
        "条例にない庁内連携",
        "Internal transfer outside the ordinance",
        "団体の条例（庁内利用の定め）にない事務・特定個人情報の組合せで庁内連携を行いました。",
        "Data was used inside the institution (庁内連携) for an affair and item that the "
        "organisation's ordinance does not list.",
    ),
    Rule(
        "explain.no_case",
        Family.EXPLANATION,
        Severity.MEDIUM,
        GroupBy.STAFF,
        "案件のない照会",
        "Query with no case behind it",
        "照会した課に、その事務で本人を世帯員とする受付中の案件がなく、一括照会にも属さない照会です。",
        "No open case of the requesting department in that affair includes the person, and the "
        "query belongs to no batch query of that department and affair.",
    ),
    Rule(
        "explain.outside_case",
        Family.EXPLANATION,
        Severity.MEDIUM,
        GroupBy.STAFF,
        "案件の世帯員でない者の照会",
        "Query about a person outside the case",
        "指定した案件の世帯員（対象者）に含まれない者について照会しました（取り違えの疑い）。",
        "The query named a case whose members do not include the person queried (a possible "
        "mix-up of persons).",
    ),
    Rule(
        "behaviour.self_lookup",
        Family.BEHAVIOUR,
        Severity.HIGH,
        GroupBy.STAFF,
        "職員本人の照会",
        "A clerk querying their own record",
        "職員が自分自身の住民記録について照会しました。自己の案件は他の職員が扱います。",
        "The staff member queried their own resident record; one's own matters are handled by "
        "someone else.",
    ),
    Rule(
        "behaviour.kin",
        Family.BEHAVIOUR,
        Severity.MEDIUM,
        GroupBy.STAFF_SUBJECT,
        "職員の親族等の照会",
        "A clerk querying a relative",
        "職員と同じ世帯、または同じ氏で同じ住所の者について、案件のない照会をしました。",
        "With no case behind it, the staff member queried a person of their own household, or "
        "of their surname at their address.",
    ),
    Rule(
        "behaviour.coworker",
        Family.BEHAVIOUR,
        Severity.MEDIUM,
        GroupBy.STAFF_SUBJECT,
        "同僚の照会",
        "A clerk querying a coworker",
        "同じ団体の職員について、案件のない照会をしました。",
        "With no case behind it, the staff member queried a staff member of their own "
        "organisation.",
    ),
    Rule(
        "behaviour.watchlist",
        Family.BEHAVIOUR,
        Severity.HIGH,
        GroupBy.SUBJECT,
        "監視対象者の照会",
        "Query about a person on the watchlist",
        "監査担当が監視対象に登録した者について照会がありました（案件があっても通知します）。",
        "A person the auditors put on the watchlist was queried (reported even with a case).",
    ),
    Rule(
        "behaviour.many_staff",
        Family.BEHAVIOUR,
        Severity.MEDIUM,
        GroupBy.SUBJECT,
        "多数の職員による同一人の照会",
        "Many clerks querying one person",
        "短い時間に多数の職員が同じ者を照会しました（著名人等への興味本位の照会の疑い）。",
        "Many staff members queried the same person within a short window (curiosity about a "
        "well-known person, for example).",
        (
            Param("window_minutes", 60, 5, 1440, "時間枠（分）", "window (minutes)"),
            Param("min_staff", 4, 2, 100, "職員数の下限", "distinct staff members at least"),
        ),
    ),
    Rule(
        "behaviour.volume",
        Family.BEHAVIOUR,
        Severity.MEDIUM,
        GroupBy.STAFF,
        "照会件数の急増",
        "Query volume far above normal",
        "職員の1日の照会件数が、本人の過去の平均と同じ課の職員の水準を大きく上回りました。",
        "A staff member's queries in one day far exceed both their own average of the past "
        "weeks and that of their department's other staff.",
        (
            Param("min_count", 20, 2, 100000, "1日の件数の下限", "queries in the day at least"),
            Param("factor", 3, 2, 100, "平常値に対する倍率", "times the usual level at least"),
            Param("baseline_days", 28, 7, 365, "平常値の算定日数", "days of history for the usual"),
        ),
    ),
    Rule(
        "behaviour.off_hours",
        Family.BEHAVIOUR,
        Severity.MEDIUM,
        GroupBy.STAFF,
        "勤務時間外の照会",
        "Query outside office hours",
        "勤務時間外（猶予時間を超えて）、土日、祝日または年末年始に照会しました（行政機関の休日、"
        "core.calendar）。",
        "A query outside office hours (by more than the grace period), on a weekend, a public "
        "holiday or the year-end break (the one calendar, core.calendar).",
        (
            Param(
                "grace_minutes",
                30,
                0,
                240,
                "始業前・終業後の猶予（分）",
                "grace before opening and after closing (minutes)",
            ),
        ),
    ),
    Rule(
        "behaviour.repeat_subject",
        Family.BEHAVIOUR,
        Severity.MEDIUM,
        GroupBy.STAFF_SUBJECT,
        "同一人の反復照会",
        "The same person queried again and again",
        "同じ職員が短い時間に同じ者を繰り返し照会しました。",
        "The same staff member queried the same person again and again within a short window.",
        (
            Param("window_minutes", 480, 10, 10080, "時間枠（分）", "window (minutes)"),
            Param("min_count", 6, 2, 1000, "件数の下限", "queries at least"),
        ),
    ),
    Rule(
        "behaviour.multi_terminal",
        Family.BEHAVIOUR,
        Severity.HIGH,
        GroupBy.STAFF,
        "複数端末からの同時利用",
        "One account on several terminals at once",
        "一つのアカウントが、重なる時間帯に複数の端末から照会しました（アカウントの共用・盗用の疑い）。",
        "One account queried from several terminals at overlapping times (a shared or stolen "
        "account).",
        (Param("gap_minutes", 5, 1, 120, "重なりとみなす間隔（分）", "overlap (minutes)"),),
    ),
)

RULES: Mapping[str, Rule] = {rule.code: rule for rule in _RULES}


def rule_get(code: str) -> Rule:
    """The catalogue's rule of this code (KeyError for an unknown one)."""
    return RULES[code]


def check_params(rule: Rule, params: Mapping[str, Any]) -> dict[str, int]:
    """params completed with the rule's defaults, or ValueError naming the first parameter
    that the rule does not declare or that lies outside its range."""
    checked = rule.defaults()
    for name, value in params.items():
        try:
            spec = rule.param(name)
        except KeyError:
            raise ValueError(f"{rule.code} has no parameter {name!r}") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{rule.code}.{name} must be a whole number")
        if not spec.minimum <= value <= spec.maximum:
            raise ValueError(f"{rule.code}.{name} must lie in {spec.minimum}..{spec.maximum}")
        checked[name] = value
    return checked
