"""The network's refusal and hold reasons, with its messages in Japanese and English, and
the errors its services raise."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    """A refusal (or hold) reason: its code and its message in Japanese and English."""

    code: str
    ja: str
    en: str

    def render(self, **values: str) -> dict[str, str]:
        """The code and both messages with the request's codes filled in."""
        return {"code": self.code, "ja": self.ja.format(**values), "en": self.en.format(**values)}


REASONS = {
    r.code: r
    for r in [
        Reason(
            "staff_not_assigned",
            "職員は事務手続「{affair}」の担当として登録されていません。",
            "The staff member is not assigned to affair {affair}.",
        ),
        Reason(
            "case_other_department",
            "受付番号「{case}」の案件は照会者の担当課の案件ではありません。",
            "Case {case} belongs to another department than the requesting staff member's.",
        ),
        Reason(
            "case_affair_mismatch",
            "受付番号「{case}」の案件は事務手続「{affair}」の案件ではありません。",
            "Case {case} is not a case of affair {affair}.",
        ),
        Reason(
            "case_closed",
            "受付番号「{case}」の案件は受付期間外（完結済みまたは受付前）です。",
            "Case {case} is not open (closed, or not yet opened) at the time of the request.",
        ),
        Reason(
            "batch_other_department",
            "指定された一括照会は照会者の担当課の一括照会ではありません。",
            "The batch query named belongs to another department than the requesting staff "
            "member's.",
        ),
        Reason(
            "batch_affair_mismatch",
            "指定された一括照会は事務手続「{affair}」の一括照会ではありません。",
            "The batch query named is not a batch query of affair {affair}.",
        ),
        Reason(
            "batch_route_mismatch",
            "指定された一括照会は特定個人情報名「{item}」を情報提供者「{provider}」に照会する"
            "一括照会ではありません。",
            "The batch query named does not query item {item} of provider {provider}.",
        ),
        Reason(
            "wrong_institution",
            "照会元機関「{requester}」は職員の所属機関ではありません。",
            "Requesting institution {requester} is not the staff member's institution.",
        ),
        Reason(
            "affair_not_notified",
            "事務手続「{affair}」は情報連携の届出がされていません。",
            "Independent-use affair {affair} has not been notified for linkage.",
        ),
        Reason(
            "not_in_permitted_table",
            "指定された特定個人情報名「{item}」の照会は許可されていません。",
            "Querying item {item} is not permitted for this affair and provider.",
        ),
        Reason(
            "rule_not_valid_on_date",
            "指定された特定個人情報名「{item}」の照会は{day}時点で有効ではありません。",
            "The permission to query item {item} is not in force on {day}.",
        ),
        Reason(
            "consent_missing",
            "特定個人情報名「{item}」の照会には本人の同意が必要です。",
            "Querying item {item} for this affair needs the person's consent.",
        ),
        Reason(
            "subject_not_found",
            "指定された宛名番号に該当する者がいません。",
            "No person matches the given addressee number.",
        ),
        Reason(
            "token_not_issued",
            "符号が未取得です。",
            "No 符号 (institution token) has been issued for this person.",
        ),
        Reason(
            "request_id_reused",
            "照会番号「{request_id}」は別の照会で使用済みです。",
            "Request id {request_id} was already used for another request.",
        ),
        Reason(
            "provider_is_requester",
            "照会先機関「{provider}」は照会元機関と同一です。"
            "同一機関内の事務の間では庁内連携を利用してください。",
            "The provider {provider} is the requesting institution itself; between affairs of "
            "one institution, use internal transfer (庁内連携).",
        ),
        Reason(
            "held",
            "情報提供者で確認中です。回答をお待ちください。",
            "The provider is reviewing the request; wait for the answer.",
        ),
        Reason(
            "not_in_ordinance",
            "事務手続「{affair}」での特定個人情報「{item}」の庁内利用は条例で定められていません。",
            "The organisation's ordinance does not allow affair {affair} to use item {item} "
            "internally.",
        ),
        Reason(
            "manual_answer",
            "情報提供者で手動応答の対象です。回答をお待ちください。",
            "The provider answers this item by hand; the request is held.",
        ),
        Reason(
            "nondisclosure",
            "不開示の対象のため、情報提供者で確認中です。",
            "The record is protected from disclosure; the provider is reviewing the request.",
        ),
        Reason(
            "declined_by_provider",
            "情報提供者により提供されませんでした。",
            "The provider declined to answer.",
        ),
    ]
}


# Why a provider may release a request held because its subject is 不開示 (a DV support
# measure): the operator chooses one, explicitly, and the release's ledger entry records it
# (decision_reason). Releasing such a record is the decision the measure exists to make hard.
RELEASE_REASONS = {
    r.code: r
    for r in [
        Reason(
            "subject_own_application",
            "照会元に確認し、支援措置を受けている本人の申請に基づく照会であることを確認した",
            "Confirmed with the requester that the query serves the protected person's own "
            "application",
        ),
        Reason(
            "no_location_information",
            "提供する情報に、本人の所在を推知させる情報が含まれないことを確認した",
            "Confirmed that the answer holds nothing that reveals where the person lives",
        ),
        Reason(
            "requester_handles_protection",
            "照会元が支援措置を把握しており、回答を支援措置に沿って取り扱うことを確認した",
            "Confirmed that the requester knows of the support measure and will handle the "
            "answer accordingly",
        ),
        Reason(
            "protection_ended",
            "支援措置が終了していることを確認した",
            "Confirmed that the support measure has ended",
        ),
    ]
}


class NotAllowed(Exception):
    """The acting staff member may not do this (e.g. release another provider's request)."""


class OperatorNotFound(Exception):
    """A PresentedOperator's credential names no active staff member of its institution
    (field "operator"), or its 受付番号 no case there (field "case"). The caller's error, not
    a refusal: nothing is recorded."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


OPERATOR_NOT_ACCEPTED = (
    "the operator credential is unknown, revoked, or not of an active staff member of this "
    "institution"
)
