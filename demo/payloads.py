"""Realistic contents of 副本 (what each provider's intermediate server holds about a
resident), by item."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from agencies.models import Sex
from demo.population import Resident

if TYPE_CHECKING:
    from demo.world import Loader


class Payloads:
    """Realistic contents of 副本, by item name. Amounts are plausible, not computed by law."""

    _VACCINES = (
        (0, "B型肝炎 第1回"),
        (0, "ロタウイルス 第1回"),
        (0, "小児用肺炎球菌 第1回"),
        (0, "五種混合 第1回"),
        (1, "MR（麻しん風しん混合）第1期"),
        (1, "水痘 第1回"),
        (5, "MR（麻しん風しん混合）第2期"),
        (9, "日本脳炎 第2期"),
        (11, "二種混合（DT）第2期"),
    )

    def __init__(self, loader: Loader) -> None:
        self.loader = loader
        self.rng = random.Random(loader.seed * 104729 + 3)
        self.fiscal_year = loader.today.year if loader.today.month >= 6 else loader.today.year - 1

    def _day(self, days_back_lo: int, days_back_hi: int) -> str:
        days = self.rng.randint(days_back_lo, max(days_back_lo, days_back_hi))
        return (self.loader.today - dt.timedelta(days=days)).isoformat()

    def for_resident(self, r: Resident) -> Iterator[tuple[str, dict[str, Any]]]:
        rng = self.rng
        loader = self.loader
        hh = loader.households[r.household]
        members = [loader.residents[i] for i in hh.members]
        is_head = r.relationship == "世帯主"
        children = [m for m in members if m.relationship == "子" and m.age < 18]
        yield (
            "住民票関係情報",
            {
                "世帯番号": hh.number,
                "続柄": r.relationship,
                "住民となった年月日": max(
                    r.person.date_of_birth, loader.today - dt.timedelta(days=rng.randint(200, 9000))
                ).isoformat(),
                "世帯員数": len(members),
                "世帯構成": [
                    {
                        "続柄": m.relationship,
                        "性別": "男" if m.person.sex == Sex.MALE else "女",
                        "生年月日": m.person.date_of_birth.isoformat(),
                    }
                    for m in members
                ],
            },
        )
        if r.age >= 18:
            yield "地方税関係情報", self._tax(r, members)
        if r.insurer:
            yield "医療保険給付関係情報", self._medical(r)
        if r.age >= 65 or (r.disabled and r.age >= 20 and rng.random() < 0.3):
            kind = (
                "老齢基礎年金・老齢厚生年金"
                if r.age >= 65 and rng.random() < 0.7
                else "老齢基礎年金"
                if r.age >= 65
                else "障害基礎年金"
            )
            yield (
                "年金給付関係情報",
                {
                    "年金の種類": kind,
                    "年金額（年額）": rng.randrange(600_000, 2_600_000, 100),
                    "支給開始年月": (
                        f"{r.person.date_of_birth.year + 65}-{r.person.date_of_birth.month:02d}"
                        if r.age >= 65
                        else self._day(200, 3000)[:7]
                    ),
                    "非課税年金": kind == "障害基礎年金",
                },
            )
        if r.welfare and is_head:
            yield (
                "生活保護関係情報",
                {
                    "保護の状況": "保護中",
                    "保護開始日": self._day(60, 3000),
                    "世帯人員": len(members),
                    "扶助の種類": ["生活扶助", "住宅扶助", "医療扶助"]
                    + (["教育扶助"] if children else []),
                },
            )
        if children and is_head and hh.kind != "single" and rng.random() < 0.97:
            monthly = sum(15_000 if c.age < 3 else 10_000 for c in children)
            yield (
                "児童手当関係情報",
                {
                    "受給状況": "受給中",
                    "支給対象児童数": len(children),
                    "月額": monthly,
                    "認定日": self._day(30, 2500),
                    "所得上限超過": False,
                },
            )
        if children and is_head and hh.kind == "single_parent":
            full = r.income < 1_600_000
            yield (
                "児童扶養手当関係情報",
                {
                    "受給状況": "全部支給" if full else "一部支給",
                    "対象児童数": len(children),
                    "月額": 46_690 if full else rng.randrange(11_000, 46_680, 10),
                    "認定日": self._day(60, 3000),
                },
            )
        disabled_children = [c for c in children if c.disabled]
        if disabled_children and is_head:
            grade = rng.choice(("1級", "2級"))
            yield (
                "特別児童扶養手当関係情報",
                {
                    "対象児童数": len(disabled_children),
                    "障害等級": grade,
                    "手当月額": (56_800 if grade == "1級" else 37_830) * len(disabled_children),
                    "認定日": self._day(60, 2000),
                },
            )
        if r.disabled:
            kind = rng.choice(
                ("身体障害者手帳", "身体障害者手帳", "精神障害者保健福祉手帳", "療育手帳")
            )
            grade = (
                rng.choice(("1級", "2級", "3級", "4級"))
                if kind != "療育手帳"
                else rng.choice(("A", "B1", "B2"))
            )
            yield (
                "障害者関係情報",
                {"手帳の種類": kind, "等級": grade, "交付日": self._day(100, 6000)},
            )
            if rng.random() < 0.35:
                yield (
                    "障害者自立支援給付関係情報",
                    {
                        "サービス種類": rng.choice(
                            ("居宅介護", "生活介護", "就労継続支援B型", "短期入所", "計画相談支援")
                        ),
                        "支給決定期間": [self._day(100, 300), self._day(-300, -30)],
                        "利用者負担上限月額": rng.choice((0, 9_300, 37_200)),
                    },
                )
        if r.care_level:
            yield (
                "介護保険給付等関係情報",
                {
                    "被保険者区分": "第1号被保険者",
                    "要介護状態区分": r.care_level,
                    "認定有効期間": [self._day(100, 360), self._day(-700, -30)],
                    "保険料段階": rng.randint(1, 13),
                    "負担割合": "1割" if r.income < 2_800_000 else "2割",
                },
            )
        if r.unemployed_benefit:
            yield (
                "失業等給付関係情報",
                {
                    "受給資格": "あり",
                    "離職理由区分": rng.choice(
                        ("特定受給資格者", "特定理由離職者", "一般の離職者")
                    ),
                    "基本手当日額": rng.randrange(3_000, 8_500, 10),
                    "所定給付日数": rng.choice((90, 120, 150, 180)),
                    "受給資格決定日": self._day(10, 200),
                },
            )
        if r.age < 13:
            yield (
                "予防接種記録",
                {
                    "接種記録": [
                        {
                            "ワクチン": vaccine,
                            "接種日": min(
                                loader.today,
                                r.person.date_of_birth + dt.timedelta(days=60 + 365 * age),
                            ).isoformat(),
                        }
                        for age, vaccine in self._VACCINES
                        if age <= r.age
                    ],
                },
            )
        if r.age < 4:
            exam = (
                "3歳児健康診査"
                if r.age >= 3
                else "1歳6か月児健康診査"
                if r.age >= 2
                else ("乳児健康診査（3～4か月）")
            )
            yield (
                "乳幼児健康診査情報",
                {
                    "健診": exam,
                    "受診日": self._day(10, 300),
                    "身長cm": round(60 + 13 * r.age + rng.uniform(-3, 3), 1),
                    "体重kg": round(6 + 2.3 * r.age + rng.uniform(-1, 1), 1),
                    "所見": "異常なし" if rng.random() < 0.9 else "経過観察",
                },
            )
        if 15 <= r.age <= 17 and self.loader.org_data[r.org].get("prefecture_code"):
            yield (
                "就学支援金の支給に関する情報",
                {
                    "受給資格認定日": self._day(30, 700),
                    "支給済月数": rng.randint(1, 30),
                    "学校種別": rng.choice(("全日制", "定時制", "通信制")),
                },
            )
        if not r.foreign:  # every Japanese national has a 戸籍; foreign residents have none
            yield (
                "戸籍関係情報",
                {
                    "本籍地": self.loader.org_data[r.org]["name"],
                    "親子関係": [
                        {"続柄": "子", "生年月日": c.person.date_of_birth.isoformat()}
                        for c in (children if is_head else [])
                    ],
                    "異動の有無": "なし",
                },
            )
        if r.age >= 18 and rng.random() < 0.6:
            yield (
                "公的給付支給等口座登録簿関係情報",
                {
                    "登録状況": "登録済",
                    "金融機関コード": rng.choice(("0001", "0005", "0009", "0010", "9900")),
                    "支店コード": f"{rng.randint(1, 999):03d}",
                    "口座種別": "普通",
                    "口座番号（末尾）": f"****{rng.randint(0, 999):03d}",
                    "登録日": self._day(30, 1500),
                },
            )

    def _tax(self, r: Resident, members: list[Resident]) -> dict[str, Any]:
        dependants = (
            sum(1 for m in members if m is not r and m.income < 480_000)
            if (r.relationship == "世帯主")
            else 0
        )
        exempt_limit = 450_000 + 350_000 * dependants + (210_000 if dependants else 0)
        taxable = max(0, r.income - 430_000 - 330_000 * dependants)
        if r.welfare or r.income <= exempt_limit:
            kind, municipal, prefectural, flat = "非課税", 0, 0, 0
        elif taxable < 350_000:
            kind, municipal, prefectural, flat = "均等割のみ課税", 0, 0, 4_000
        else:
            kind = "課税"
            municipal = taxable * 6 // 100 // 100 * 100
            prefectural = taxable * 4 // 100 // 100 * 100
            flat = 4_000
        return {
            "年度": self.fiscal_year,
            "課税区分": kind,
            "総所得金額等": r.income,
            "市町村民税所得割額": municipal,
            "道府県民税所得割額": prefectural,
            "均等割額": flat,
            "扶養親族数": dependants,
            "障害者控除": r.disabled,
        }

    def _medical(self, r: Resident) -> dict[str, Any]:
        loader = self.loader
        inst = r.insurer
        if inst == loader.kouiki:
            kind, status = "後期高齢者医療", "被保険者"
        elif inst in loader.nhi_institutions:
            kind, status = "国民健康保険", "被保険者"
        else:
            kind = "全国健康保険協会管掌健康保険" if inst == loader.kyokai else "組合管掌健康保険"
            status = "被保険者" if r.employed else "被扶養者"
        band = (
            "現役並み" if r.income >= 3_700_000 else "一般" if r.income >= 1_000_000 else "低所得"
        )
        return {
            "保険者種別": kind,
            "被保険者区分": status,
            "資格取得日": self._day(100, 9000),
            "高額療養費所得区分": band,
            "一部負担金割合": "1割"
            if r.age >= 75
            else "2割"
            if r.age >= 70 or r.age < 6
            else "3割",
        }


# --- helpers ---------------------------------------------------------------------------------
