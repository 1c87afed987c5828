"""The demo world: organisations, institutions, staff and a synthetic population.

`demo_world_load` loads the product's permitted table (agencies/data/permitted_table.json),
then reads demo/data/demo_world.json (the demo's organisations, independent-use affairs and
the pools of names and addresses; see demo/data/README.md) and generates residents,
households, 符号, 副本, staff, cases and consents from a seed. Everything that describes people
is drawn from `random.Random(seed)`, so one seed gives the same world every time; the My Numbers
are the exception on purpose (see `demo.population.MyNumberSource`).

The whole load is one transaction. My Numbers exist in clear only inside `MyNumberSource` and
`seal_my_number_fields`; they are never printed, logged or written anywhere but the encrypted
column. Agency API keys are returned to the caller, which writes them to a file once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import sys
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TextIO

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from agencies.codes import validate_local_government_code
from agencies.events import (
    ASSIGNMENT_GRANTED,
    CONSENT_GIVEN,
    NONDISCLOSURE_SET,
    record_case_closed,
    record_case_opened,
    record_change,
)
from agencies.models import (
    AddresseeNumber,
    Affair,
    AgencySystem,
    Case,
    CaseMember,
    Consent,
    Department,
    Household,
    InformationItem,
    Institution,
    InstitutionKind,
    InstitutionToken,
    LegalBasis,
    LinkageRule,
    Organization,
    OrganizationKind,
    Person,
    ProvisionCopy,
    Sex,
    StaffMember,
    StaffRole,
)
from agencies.permitted_table import (
    affairs_load,
    ordinance_rule_add,
    permitted_table_load,
    rules_load,
)
from agencies.services import (
    agency_system_create,
    operator_credential_issue,
    persons_bulk_create,
    record_assignment,
    seal_my_number_fields,
)
from agencies.tokens import derive_institution_token
from audit.selectors import AUDITORS_GROUP
from core.calendar import last_working_day, office_minutes, office_moment
from core.db import insert_rows
from demo.logins import DEMO_PASSWORD, PRIVACY_OFFICER, demo_logins
from demo.payloads import Payloads
from demo.population import (
    Ages,
    MyNumberSource,
    Names,
    Resident,
    SyntheticHousehold,
    age_on,
    birth_date,
    employment_probability,
    street_address,
    welfare_probability,
)

DATA_FILE = Path(__file__).resolve().parent / "data" / "demo_world.json"

MIN_RESIDENTS = 50
MAX_RESIDENTS = 1_000_000

DV_REASON = "DV等支援措置"

_BATCH = 2000
_CHUNK = 5000  # persons per round of 符号 and 副本


class DemoArgumentError(ValueError):
    """A seed_demo argument is out of range (the message is one line for the user)."""


@dataclass
class DemoWorld:
    """What one load created: row counts, logins to show and the agency API keys."""

    seed: int
    residents: int
    counts: dict[str, int]
    logins: list[tuple[str, str]]
    api_keys: list[tuple[str, str, str]] = field(repr=False)  # (institution code, name, key)
    # (institution code, username, credential): operators' own credentials for the API
    operator_credentials: list[tuple[str, str, str]] = field(repr=False, default_factory=list)


# --- data file ---------------------------------------------------------------------------------


WORLD_EPOCH_DAYS = 730  # before the oldest case (opened up to 700 days back)
MANUAL_ANSWER_SHARE = 0.05  # of 副本 not protected, the share its provider answers by hand


@cache
def load_world_data() -> dict[str, Any]:
    """The parsed demo_world.json (read once per process)."""
    with DATA_FILE.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@dataclass(frozen=True)
class ItemHolders:
    """Where the demo world keeps each item (demo_world.json): which institution holds its
    副本 for the residents of an organisation, and which affair's records supply it there.
    The loader puts each resident's 副本 where this says; the traffic asks the same place."""

    in_org: dict[tuple[str, str], str]  # (organisation code, item code) -> institution code
    national: dict[str, str]  # item code -> institution code
    prefecture_of: dict[str, str]  # organisation code -> its prefecture's organisation code
    source_affair: dict[tuple[str, str], str | None]  # (institution, item) -> affair code

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ItemHolders:
        """The index of a parsed demo_world.json."""
        in_org: dict[tuple[str, str], str] = {}
        national: dict[str, str] = {}
        source_affair: dict[tuple[str, str], str | None] = {}
        for o in data["organizations"]:
            for i in o["institutions"]:
                for d in i["departments"]:
                    for item in d["provides"]:
                        # The first affair of the providing department; None for a register
                        # that is no affair of the table (住民票関係情報 from 市民課).
                        source_affair.setdefault(
                            (i["code"], item), d["affairs"][0] if d["affairs"] else None
                        )
                        if d["scope"] == "insured":
                            continue  # each resident's own insurer, see assign_circumstances
                        if o["kind"] in ("national", "insurer"):
                            national[item] = i["code"]
                        else:
                            in_org.setdefault((o["code"], item), i["code"])
        prefecture_of = {
            o["code"]: o["prefecture_code"]
            for o in data["organizations"]
            if o.get("prefecture_code")
        }
        return cls(in_org, national, prefecture_of, source_affair)

    def holder(self, org_code: str, item_code: str) -> str | None:
        """The institution holding item_code for residents of org_code: one of the
        organisation's own, else its prefecture's, else the nation's (None if nobody)."""
        inst = self.in_org.get((org_code, item_code))
        if inst:
            return inst
        pref = self.prefecture_of.get(org_code)
        if pref and (pref, item_code) in self.in_org:
            return self.in_org[(pref, item_code)]
        return self.national.get(item_code)


def demo_world_present() -> bool:
    """True when the demo world's first organisation is already in the database."""
    first_code = load_world_data()["organizations"][0]["code"]
    return Organization.objects.filter(code=first_code).exists()


def validate_arguments(*, seed: int, residents: int) -> None:
    """Raise DemoArgumentError unless seed and residents are usable."""
    if seed < 0:
        raise DemoArgumentError(f"--seed must be 0 or more (got {seed})")
    if not MIN_RESIDENTS <= residents <= MAX_RESIDENTS:
        raise DemoArgumentError(
            f"--residents must be between {MIN_RESIDENTS} and {MAX_RESIDENTS} (got {residents})"
        )


# --- generation helpers ------------------------------------------------------------------------


# --- the loader ------------------------------------------------------------------------------


class Loader:
    def __init__(self, *, seed: int, residents: int, progress_file: TextIO | None) -> None:
        self.seed = seed
        self.n_residents = residents
        self.rng = random.Random(seed)
        self.data = load_world_data()
        self.today = timezone.localdate()
        self.now = timezone.now()
        # The world's standing facts (staff assignments, ordinance tables) go on the record as
        # of before the oldest case it opens, so that traffic sent for past days finds them.
        self.epoch = self.now - dt.timedelta(days=WORLD_EPOCH_DAYS)
        self.progress_file = progress_file or sys.stderr
        self.orgs: dict[str, Organization] = {}
        self.org_data: dict[str, dict[str, Any]] = {
            o["code"]: o for o in self.data["organizations"]
        }
        self.institutions: dict[str, Institution] = {}
        self.departments: dict[tuple[str, str], Department] = {}
        self.affairs: dict[str, Affair] = {}
        self.items: dict[str, InformationItem] = {}
        self.item_by_name: dict[str, InformationItem] = {}
        self.residents: list[Resident] = []
        self.households: list[SyntheticHousehold] = []
        self.api_keys: list[tuple[str, str, str]] = []
        self.operator_credentials: list[tuple[str, str, str]] = []
        self.staff_by_dept: dict[tuple[str, str], list[StaffMember]] = defaultdict(list)

    # -- reference data --

    def load_reference(self) -> None:
        for o in self.data["organizations"]:
            validate_local_government_code(o["code"])
            org = Organization.objects.create(
                code=o["code"],
                kind=OrganizationKind(o["kind"]),
                name=o["name"],
                name_en=o["name_en"],
                prefecture_name=o["prefecture_name"],
            )
            self.orgs[org.code] = org
            for i in o["institutions"]:
                inst = Institution(
                    organization=org,
                    code=i["code"],
                    kind=InstitutionKind(i["kind"]),
                    name=i["name"],
                    capacities=i["capacities"],
                )
                inst.full_clean(exclude=["organization"])
                inst.save()
                self.institutions[inst.code] = inst
                for d in i["departments"]:
                    dept = Department.objects.create(
                        institution=inst, code=d["code"], name=d["name"]
                    )
                    self.departments[(inst.code, d["code"])] = dept
        # The product's permitted table, then the demo's own independent-use affairs (each
        # owned by one of the demo organisations) with their rules and consent items.
        permitted_table_load()
        affairs_load(self.data["independent_affairs"], owners=self.orgs)
        rules_load(self.data["independent_rules"])
        self.affairs = Affair.objects.in_bulk(field_name="code")
        self.items = InformationItem.objects.in_bulk(field_name="code")
        self.item_by_name = {item.name: item for item in self.items.values()}
        for a in self.data["independent_affairs"]:
            for item_code in a.get("consent_items", []):
                self.items[item_code].consent_affairs.add(self.affairs[a["code"]])
        self.tax_consent_affairs = set(
            self.item_by_name["地方税関係情報"].consent_affairs.values_list("code", flat=True)
        )
        self._index_providers()
        self.create_ordinances()

    def create_ordinances(self) -> None:
        """Each organisation's ordinance table (条例で定める庁内利用): where one of its
        institutions holds both sides of a row of the permitted table, that use stays inside
        the institution (庁内連携), and the organisation's マイナンバー条例 allows it, from the
        affair whose department keeps the item (or from a register that is no affair)."""
        rules = list(
            LinkageRule.objects.filter(
                requester_institution__isnull=True, provider_institution__isnull=True
            ).select_related("affair", "item")
        )
        seen: set[tuple[str, str, str, str | None]] = set()
        for code, institution in self.institutions.items():
            org = institution.organization
            for rule in rules:
                owner = rule.affair.owner_organization_id
                if owner is not None and owner != org.pk:
                    continue  # another organisation's independent-use affair
                if not (
                    institution.holds(rule.requester_capacity)
                    and institution.holds(rule.provider_capacity)
                ):
                    continue
                source = self.holders.source_affair.get((code, rule.item.code))
                key = (org.code, rule.affair.code, rule.item.code, source)
                if key in seen:
                    continue
                seen.add(key)
                ordinance_rule_add(
                    organization=org,
                    affair=rule.affair,
                    item=rule.item,
                    from_affair=self.affairs[source] if source else None,
                    ordinance=f"{org.name}行政手続における特定の個人を識別するための番号の利用等に"
                    "関する条例 第4条第2項",
                    valid_from=rule.valid_from,
                    valid_to=rule.valid_to,
                    actor="system",
                    moment=self.epoch,
                )

    def _index_providers(self) -> None:
        """Which institution of which organisation holds 副本 of which item."""
        self.holders = ItemHolders.from_data(self.data)
        self.municipalities = [o for o in self.data["organizations"] if o["kind"] == "municipality"]
        # Every resident is known to the national bodies (a 符号 at each), but not to JASSO,
        # which knows students only.
        self.jasso = next(
            i["code"]
            for o in self.data["organizations"]
            for i in o["institutions"]
            if "student_support" in i["capacities"]
        )
        self.nation_token_institutions = [
            i["code"]
            for o in self.data["organizations"]
            if o["kind"] == "national"
            for i in o["institutions"]
            if i["code"] != self.jasso
        ]
        self.nhi = {  # 国民健康保険: the municipality's mayor in the capacity of insurer
            o["code"]: i["code"]
            for o in self.municipalities
            for i in o["institutions"]
            if "nhi_insurer" in i["capacities"]
        }
        self.nhi_institutions = set(self.nhi.values())
        by_slug = {o["slug"]: o for o in self.data["organizations"]}
        self.kyokai = by_slug["kyoukaikenpo"]["institutions"][0]["code"]
        self.kenpo = by_slug["kenpo"]["institutions"][0]["code"]
        self.kouiki = by_slug["kouiki"]["institutions"][0]["code"]
        self.kouiki_prefecture = by_slug["kouiki"]["serves_prefecture"]

    # -- residents --

    def generate_residents(self) -> None:
        rng = self.rng
        names = Names(self.data["names"])
        ages = Ages(self.data["age_pyramid"])
        my_numbers = MyNumberSource()
        weights = [o["residents_weight"] for o in self.municipalities]
        household_numbers: dict[str, int] = defaultdict(int)
        kinds = ("single", "couple", "couple_children", "single_parent", "three_generations")
        kind_weights = (38, 22, 23, 9, 8)  # 2020 census shares of household types

        def add_person(
            hh: SyntheticHousehold,
            rel: str,
            sex: str,
            age: int,
            family: tuple[str, str],
            given: tuple[str, str] | None = None,
            foreign: bool = False,
        ) -> None:
            if given is None:
                taken = {self.residents[m].person.given_name for m in hh.members}
                for _ in range(10):
                    given = names.given_name(rng, sex, age)
                    if given[0] not in taken:
                        break
            assert given is not None
            person = Person(
                public_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                family_name=family[0],
                given_name=given[0],
                family_name_kana=family[1],
                given_name_kana=given[1],
                sex=sex,
                date_of_birth=birth_date(rng, age),
                postal_code=hh.postal_code,
                address=hh.address,
                relationship=rel,
            )
            seal_my_number_fields(person=person, my_number=my_numbers.draw())
            resident = Resident(
                index=len(self.residents),
                person=person,
                org=hh.org,
                household=hh.index,
                relationship=rel,
                age=age_on(person.date_of_birth, self.today),
                foreign=foreign,
            )
            self.residents.append(resident)
            hh.members.append(resident.index)

        n = self.n_residents
        while len(self.residents) < n:
            if len(self.households) < len(self.municipalities):
                org = self.municipalities[len(self.households)]
            else:
                org = rng.choices(self.municipalities, weights)[0]
            household_numbers[org["code"]] += 1
            address, postal = street_address(rng, org)
            foreign = rng.random() < 0.025
            kind = rng.choices(
                kinds[:3] if foreign else kinds, kind_weights[:3] if foreign else kind_weights
            )[0]
            hh = SyntheticHousehold(
                index=len(self.households),
                org=org["code"],
                kind=kind,
                number=f"{household_numbers[org['code']]:010d}",
                address=address,
                postal_code=postal,
            )
            self.households.append(hh)
            self._fill_household(hh, rng, names, ages, add_person, foreign, n)

    def _fill_household(
        self,
        hh: SyntheticHousehold,
        rng: random.Random,
        names: Names,
        ages: Ages,
        add: Callable[..., None],
        foreign: bool,
        n: int,
    ) -> None:
        plan: list[tuple[str, str, int]] = []  # (relationship, sex, age)
        m, f = Sex.MALE.value, Sex.FEMALE.value
        # One-person and couple-only households are mostly young adults or the elderly; the
        # splits below bring the population close to the 2020 census shares by age.
        if hh.kind == "single":
            band = rng.choices(((18, 34), (35, 64), (65, 99)), (25, 25, 50))[0]
            age = ages.draw(rng, *band)
            sex = f if rng.random() < (0.65 if age >= 75 else 0.45) else m
            plan.append(("世帯主", sex, age))
        elif hh.kind in ("couple", "couple_children", "three_generations"):
            lo, hi = {
                "couple": rng.choices(((25, 59), (60, 95)), (20, 80))[0],
                "couple_children": (26, 62),
                "three_generations": (32, 62),
            }[hh.kind]
            head_age = ages.draw(rng, lo, hi)
            head_male = rng.random() < 0.85
            spouse_age = max(20, min(99, head_age + rng.randint(-6, 2) * (1 if head_male else -1)))
            plan.append(("世帯主", m if head_male else f, head_age))
            plan.append(("妻" if head_male else "夫", f if head_male else m, spouse_age))
            if hh.kind != "couple":
                mother_age = spouse_age if head_male else head_age
                for k in range(rng.choices((1, 2, 3), (45, 42, 13))[0]):
                    child_age = mother_age - rng.randint(24, 40)
                    if child_age >= 0 or k == 0:  # mothers too young for a second child
                        plan.append(("子", rng.choice((m, f)), max(0, min(29, child_age))))
            if hh.kind == "three_generations":
                parent_age = min(99, head_age + rng.randint(24, 36))
                if rng.random() < 0.3:
                    plan.append(("父", m, parent_age))
                    plan.append(("母", f, max(head_age + 20, parent_age - rng.randint(0, 4))))
                elif rng.random() < 0.75:
                    plan.append(("母", f, parent_age))
                else:
                    plan.append(("父", m, parent_age))
        else:  # single_parent
            parent_age = ages.draw(rng, 24, 60)
            sex = f if rng.random() < 0.85 else m
            plan.append(("世帯主", sex, parent_age))
            for _ in range(rng.choices((1, 2, 3), (55, 38, 7))[0]):
                child_age = parent_age - rng.randint(22, 40)
                plan.append(("子", rng.choice((m, f)), max(0, min(24, child_age))))
        plan = plan[:6][: n - len(self.residents)]
        if foreign:
            group = rng.choice(names.foreign)
            family = (group["family"][0], group["family"][1])
            for rel, sex, age in plan:
                given = rng.choice(group["male" if sex == m else "female"])
                add(hh, rel, sex, age, family, (given[0], given[1]), True)
            return
        family = names.family_name(rng)
        for rel, sex, age in plan:
            add(hh, rel, sex, age, family)

    def assign_circumstances(self) -> None:
        """Employment, insurer, welfare, disability, care: what decides who has which 副本."""
        rng = self.rng
        for hh in self.households:
            members = [self.residents[i] for i in hh.members]
            head = members[0]
            org = self.org_data[hh.org]
            nhi = self.nhi[hh.org]
            in_kouiki_area = org.get("prefecture_code") == self.kouiki_prefecture
            welfare = rng.random() < welfare_probability(hh.kind, head.age)
            head_insurer = ""
            for r in members:
                r.welfare = welfare
                if welfare:
                    continue  # 医療扶助 replaces health insurance while on public assistance
                if r.age >= 75:
                    r.insurer = self.kouiki if in_kouiki_area else ""
                    continue
                work_p = employment_probability(r.age) * (0.75 if r.relationship == "妻" else 1)
                can_work = r.relationship != "子" or r.age >= 22
                r.employed = can_work and rng.random() < work_p
                if r.employed:
                    r.insurer = self.kyokai if rng.random() < 0.6 else self.kenpo
                elif head_insurer and r.relationship in ("妻", "夫", "子") and r.age < 60:
                    r.insurer = head_insurer  # 被扶養者
                else:
                    r.insurer = nhi
                if r is head:
                    head_insurer = r.insurer if r.insurer != nhi else ""
                if not r.employed and 20 <= r.age < 65 and rng.random() < 0.04:
                    r.unemployed_benefit = True
            for r in members:
                base = 5_500_000 if r.person.sex == Sex.MALE else 3_300_000
                if r.employed:
                    r.income = int(base * rng.lognormvariate(0, 0.45)) // 1000 * 1000
                elif r.age >= 65:
                    r.income = rng.randrange(600_000, 2_400_000, 1000)
                elif r.age >= 18 and rng.random() < 0.3:
                    r.income = rng.randrange(0, 1_000_000, 1000)
                p_disabled = 0.02 if r.age < 18 else 0.04 if r.age < 65 else 0.10
                r.disabled = rng.random() < p_disabled
                if r.age >= 65 and rng.random() < (0.08 if r.age < 75 else 0.32):
                    r.care_level = rng.choice(
                        (
                            "要支援1",
                            "要支援2",
                            "要介護1",
                            "要介護2",
                            "要介護3",
                            "要介護4",
                            "要介護5",
                        )
                    )

    def choose_dv_protected(self) -> None:
        rng = self.rng
        candidates = [
            hh
            for hh in self.households
            if hh.kind in ("single", "single_parent")
            and self.residents[hh.members[0]].person.sex == Sex.FEMALE
            and 20 <= self.residents[hh.members[0]].age < 60
        ]
        count = min(len(candidates), max(3, self.n_residents // 800))
        chosen = rng.sample(candidates, count)
        for k, hh in enumerate(chosen):
            if k == count - 1 and count > 3:
                start = self.today - dt.timedelta(days=rng.randint(400, 700))  # lapsed period
            else:
                start = self.today - dt.timedelta(days=rng.randint(10, 330))
            for i in hh.members:  # 支援措置 covers the children living with the applicant
                r = self.residents[i]
                p = r.person
                p.disclosure_protected = True
                p.protection_reason = DV_REASON
                p.protected_from = start
                p.protected_until = start + dt.timedelta(days=364)
                r.dv = p.is_protected_on(self.today)

    def save_residents(self, bar: tqdm) -> None:
        bar.set_description("世帯・住民")
        org_ids = {code: org.pk for code, org in self.orgs.items()}
        household_ids = insert_rows(
            Household,
            ("organization", "number", "address"),
            [(org_ids[hh.org], hh.number, hh.address) for hh in self.households],
            return_ids=True,
        )
        for start in range(0, len(self.residents), _BATCH):
            batch = self.residents[start : start + _BATCH]
            for r in batch:
                r.person.household_id = household_ids[r.household]
            persons_bulk_create([r.person for r in batch], batch_size=_BATCH)
            bar.update(len(batch))
        _require_pks([r.person for r in self.residents])
        # The 支援措置 are on the record as the municipality registered them (nondisclosure.set,
        # itself marked 不開示).
        for r in self.residents:
            p = r.person
            if p.disclosure_protected:
                record_change(
                    event_type=NONDISCLOSURE_SET,
                    fields={
                        "organization": r.org,
                        "valid_from": p.protected_from,
                        "valid_to": p.protected_until,
                        "nondisclosure": True,
                        "actor": "system",
                    },
                    subject=p,
                    moment=self.now,
                )
        # Each organisation numbers the people in its own records: the municipality its
        # residents (団体内統合宛名番号), the prefecture those of its municipalities, a national
        # body or an insurer the people it serves (as 日本年金機構 does by 基礎年金番号). A clerk
        # names a person by that number, and the organisation's intermediate server knows
        # their 符号.
        counters: dict[str, int] = defaultdict(int)
        numbers = []
        for r in self.residents:
            others = {code[:6] for code in self._token_institutions(r)} - {r.org}
            orgs = [r.org, *sorted(others)]
            for org in orgs:
                counters[org] += 1
                numbers.append((org_ids[org], r.person.pk, f"{100_000_000 + counters[org]:015d}"))
        insert_rows(AddresseeNumber, ("organization", "person", "number"), numbers)

    # -- 符号 and 副本 --

    def _token_institutions(self, r: Resident) -> list[str]:
        org = self.org_data[r.org]
        codes = [i["code"] for i in org["institutions"]]
        pref = org.get("prefecture_code")
        if pref:
            codes += [i["code"] for i in self.org_data[pref]["institutions"]]
        codes += self.nation_token_institutions
        if r.insurer and r.insurer not in codes:
            codes.append(r.insurer)
        if 17 <= r.age <= 24:
            codes.append(self.jasso)
        return codes

    def _provider(self, r: Resident, item_code: str) -> str | None:
        return self.holders.holder(r.org, item_code)

    def save_tokens_and_copies(self, bar: tqdm) -> None:
        """符号 for every resident at the institutions that serve them, and the 副本 those
        institutions hold. About ten 符号 and four 副本 a resident: at 100,000 residents the
        ORM's per-object cost dominates, so rows go in through core.db.insert_rows."""
        payloads = Payloads(self)
        rng = random.Random(self.seed * 7919 + 1)
        issued_at = _db_value(InstitutionToken, "issued_at", self.now)
        updated_at = _db_value(ProvisionCopy, "updated_at", self.now)
        payload_field = ProvisionCopy._meta.get_field("payload")
        inst_ids = {code: inst.pk for code, inst in self.institutions.items()}
        items = {name: item.pk for name, item in self.item_by_name.items()}
        bar.set_description("符号・副本")
        for start in range(0, len(self.residents), _CHUNK):
            chunk = self.residents[start : start + _CHUNK]
            keys: list[tuple[str, int]] = []
            token_rows: list[tuple[Any, ...]] = []
            for r in chunk:
                public_id = str(r.person.public_id)
                for code in self._token_institutions(r):
                    keys.append((code, r.index))
                    token_rows.append(
                        (
                            inst_ids[code],
                            r.person.pk,
                            derive_institution_token(
                                institution_code=code, person_public_id=public_id
                            ),
                            issued_at,
                        )
                    )
            ids = insert_rows(
                InstitutionToken,
                ("institution", "person", "token", "issued_at"),
                token_rows,
                return_ids=True,
            )
            token_ids = dict(zip(keys, ids, strict=True))
            copy_rows: list[tuple[Any, ...]] = []
            for r in chunk:
                for item_name, payload in payloads.for_resident(r):
                    inst = (
                        r.insurer
                        if item_name == "医療保険給付関係情報"
                        else self._provider(r, self.item_by_name[item_name].code)
                    )
                    token_id = token_ids.get((inst, r.index)) if inst else None
                    if inst is None or token_id is None:
                        continue
                    copy_rows.append(
                        (
                            inst_ids[inst],
                            token_id,
                            items[item_name],
                            payload_field.get_db_prep_save(payload, connection),
                            updated_at,
                            # A DV victim's records are always answered by hand; of the
                            # rest, one in twenty, so that a two-week demo leaves providers'
                            # staff a queue of held requests to release or decline.
                            r.dv or rng.random() < MANUAL_ANSWER_SHARE,
                            r.dv,
                        )
                    )
            insert_rows(
                ProvisionCopy,
                (
                    "institution",
                    "token",
                    "item",
                    "payload",
                    "updated_at",
                    "manual_answer",
                    "nondisclosure",
                ),
                copy_rows,
            )
            bar.update(len(chunk))

    # -- staff --

    def create_staff(self) -> None:
        rng = self.rng
        user_model = get_user_model()
        password = make_password(DEMO_PASSWORD)  # hashed once: every demo login shares it
        names = Names(self.data["names"])
        ages = Ages(self.data["age_pyramid"])
        linked: set[int] = set()
        pools: dict[str, list[int]] = defaultdict(list)
        for r in self.residents:
            if 22 <= r.age < 65 and not r.foreign and not r.person.disclosure_protected:
                pools[r.org].append(r.index)
                pref = self.org_data[r.org].get("prefecture_code")
                if pref:
                    pools[pref].append(r.index)
        used_usernames: set[str] = set(user_model.objects.values_list("username", flat=True))
        pending: list[tuple[Any, StaffMember, list[Affair]]] = []
        for o in self.data["organizations"]:
            for i in o["institutions"]:
                for d in i["departments"]:
                    roles: list[str] = []
                    if d["affairs"]:
                        roles += [StaffRole.CLERK, StaffRole.CLERK, StaffRole.SUPERVISOR]
                    if d["provides"]:
                        roles += [StaffRole.PROVIDER_OPERATOR] * (1 if d["affairs"] else 2)
                    for role in roles:
                        person: Person | None = None
                        pool = pools.get(o["code"], [])
                        if pool and rng.random() < 0.5:
                            for _ in range(5):
                                candidate = rng.choice(pool)
                                if candidate not in linked:
                                    linked.add(candidate)
                                    person = self.residents[candidate].person
                                    break
                        if person is not None:
                            family = (person.family_name, person.family_name_kana)
                            given_name = person.given_name
                        else:
                            family = names.family_name(rng)
                            sex = rng.choice((Sex.MALE.value, Sex.FEMALE.value))
                            given_name = names.given_name(rng, sex, ages.draw(rng, 22, 64))[0]
                        base = f"{o['slug']}.{names.romaji.get(family, 'staff')}"
                        username = base
                        for k in itertools.count(2):
                            if username not in used_usernames:
                                break
                            username = f"{base}{k}"
                        used_usernames.add(username)
                        user = user_model(
                            username=username,
                            first_name=given_name,
                            last_name=family[0],
                            email=f"{username}@{o['slug']}.demo.invalid",
                            password=password,
                        )
                        staff = StaffMember(
                            institution=self.institutions[i["code"]],
                            department=self.departments[(i["code"], d["code"])],
                            role=role,
                            person=person,
                        )
                        pending.append((user, staff, [self.affairs[c] for c in d["affairs"]]))
        user_model.objects.bulk_create([p[0] for p in pending], batch_size=_BATCH)
        _require_pks([p[0] for p in pending])
        for user, staff, _affairs in pending:
            staff.user = user
        StaffMember.objects.bulk_create([p[1] for p in pending], batch_size=_BATCH)
        _require_pks([p[1] for p in pending])
        through = StaffMember.assigned_affairs.through
        links = []
        for _user, staff, affairs in pending:
            key = (staff.department.institution.code, staff.department.code)
            self.staff_by_dept[key].append(staff)
            links += [through(staffmember_id=staff.pk, affair_id=a.pk) for a in affairs]
        through.objects.bulk_create(links, batch_size=_BATCH)
        # Every assignment is on the record, as the admin's would be (assignment.granted), as
        # of the world's epoch.
        for _user, staff, affairs in pending:
            for affair in affairs:
                record_assignment(
                    ASSIGNMENT_GRANTED,
                    staff=staff,
                    affair=affair,
                    actor="system",
                    moment=self.epoch,
                )

        group, _ = Group.objects.get_or_create(name=AUDITORS_GROUP)
        if not user_model.objects.filter(username="admin").exists():
            user_model.objects.create(
                username="admin",
                password=password,
                is_staff=True,
                is_superuser=True,
                email="admin@demo.invalid",
            )
        auditor = user_model.objects.filter(username="auditor").first()
        if auditor is None:
            auditor = user_model.objects.create(
                username="auditor",
                password=password,
                is_staff=True,
                first_name="監査",
                last_name="担当",
                email="auditor@demo.invalid",
            )
        auditor.groups.add(group)
        self.create_privacy_officer(password)
        # Auditors read the ledger (codes and pseudonyms only) in the admin. Personal records
        # are not granted here: every auditor look at them must itself be logged (dashboard).
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="audit", codename__startswith="view_"
            )
        )

    def create_privacy_officer(self, password: str) -> None:
        """The privacy officer of Sapporo (札幌市), who audits that city's entries on the
        dashboard and may reveal who a pseudonym of its staff is."""
        from dashboard.services import privacy_officer_appoint
        from detection.models import PrivacyOfficer

        sapporo = self.orgs.get("011002")
        if sapporo is None or PrivacyOfficer.objects.filter(organization=sapporo).exists():
            return
        officer, _ = get_user_model().objects.get_or_create(
            username=PRIVACY_OFFICER,
            defaults={
                "password": password,
                "first_name": "保護",
                "last_name": "担当",
                "email": "privacy.sapporo@demo.invalid",
            },
        )
        privacy_officer_appoint(actor=None, user=officer, organization=sapporo)

    # -- cases and consents --

    def create_cases(self) -> None:
        rng = self.rng
        scope_members = self._scopes()
        hints = self.data["applicant_kinds"]
        reiwa = self.today.year - 2018
        cases: list[Case] = []
        case_members: list[list[tuple[Resident, str]]] = []
        for o in self.data["organizations"]:
            for i in o["institutions"]:
                for d in i["departments"]:
                    staff = [
                        s
                        for s in self.staff_by_dept[(i["code"], d["code"])]
                        if s.role != StaffRole.PROVIDER_OPERATOR
                    ]
                    if not d["affairs"] or not staff:
                        continue
                    scope = scope_members(o, i, d)
                    seq = itertools.count(1)
                    for affair_code in d["affairs"]:
                        affair = self.affairs[affair_code]
                        candidates = _applicants(hints[affair_code], scope, self)
                        if not candidates:
                            continue
                        n = max(2, min(40, len(candidates) // 150))
                        for k in range(n):
                            applicant, members = rng.choice(candidates)
                            if k % 5 in (0, 2):  # two in five still open
                                opened = self._office_hours(rng.randint(1, 120))
                                closed = None
                            else:
                                days = rng.randint(40, 700)
                                opened = self._office_hours(days)
                                closed = max(
                                    self._office_hours(days - rng.randint(7, 35)),
                                    opened + dt.timedelta(hours=1),
                                )
                            cases.append(
                                Case(
                                    affair=affair,
                                    department=self.departments[(i["code"], d["code"])],
                                    reference=f"R{reiwa}-{d['code']}-{next(seq):05d}",
                                    applicant=applicant.person,
                                    opened_by=rng.choice(staff),
                                    opened_at=opened,
                                    closed_at=closed,
                                )
                            )
                            case_members.append(members)
        Case.objects.bulk_create(cases, batch_size=_BATCH)
        _require_pks(cases)
        rows: list[CaseMember] = []
        consents: list[Consent] = []
        tax = self.item_by_name["地方税関係情報"]
        for case, members in zip(cases, case_members, strict=True):
            for k, (r, role) in enumerate(members):
                rows.append(CaseMember(case=case, person=r.person, role=role))
                if case.affair.code in self.tax_consent_affairs and r.age >= 18:
                    start = timezone.localtime(case.opened_at).date()
                    consents.append(
                        Consent(
                            person=r.person,
                            affair=case.affair,
                            institution=case.department.institution,
                            item=tax,
                            valid_from=start,
                            valid_to=start + dt.timedelta(days=365),
                            document_reference=f"同意書-{case.reference}-{k + 1}",
                        )
                    )
        CaseMember.objects.bulk_create(rows, batch_size=_BATCH)
        Consent.objects.bulk_create(consents, batch_size=_BATCH)
        # The cases and consents are on the record as the staff pages would have written them
        # when they happened (case.opened, case.member, case.closed, consent.given).
        for case, members in zip(cases, case_members, strict=True):
            assert case.opened_by is not None
            relations = [
                (r.person, "applicant" if r.person.pk == case.applicant_id else "household")
                for r, _role in members
            ]
            record_case_opened(
                case=case, staff=case.opened_by, members=relations, moment=case.opened_at
            )
            if case.closed_at is not None:
                record_case_closed(case=case, staff=case.opened_by, moment=case.closed_at)
        for consent in consents:
            record_change(
                event_type=CONSENT_GIVEN,
                fields={
                    "institution": consent.institution.code,
                    "affair": consent.affair.code,
                    "item": consent.item.code,
                    "valid_from": consent.valid_from,
                    "valid_to": consent.valid_to,
                    "actor": "system",
                },
                subject=consent.person,
                moment=self.now,
            )

    def _office_hours(self, days_ago: int) -> dt.datetime:
        """A moment in office hours on the last working day at or before days_ago days back;
        cases are opened and closed at the counter, not at night."""
        day = last_working_day(self.today - dt.timedelta(days=days_ago))
        return office_moment(day, self.rng.randint(0, office_minutes()))

    def _scopes(
        self,
    ) -> Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], list[Resident]]:
        by_org: dict[str, list[Resident]] = defaultdict(list)
        by_insurer: dict[str, list[Resident]] = defaultdict(list)
        for r in self.residents:
            by_org[r.org].append(r)
            if r.insurer:
                by_insurer[r.insurer].append(r)
        cache_: dict[tuple[str, str, str], list[Resident]] = {}

        def scope(o: dict[str, Any], i: dict[str, Any], d: dict[str, Any]) -> list[Resident]:
            key = (o["code"], i["code"], d["scope"])
            if key in cache_:
                return cache_[key]
            kind = d["scope"]
            if kind == "org":
                result = by_org[o["code"]]
            elif kind in ("prefecture", "prefecture_towns"):
                result = [
                    r
                    for m in self.municipalities
                    if m.get("prefecture_code") == o["code"]
                    and (kind == "prefecture" or not m["designated_city"])
                    for r in by_org[m["code"]]
                ]
            elif kind == "insured":
                result = by_insurer[i["code"]]
            elif kind == "insured_kyokai":
                result = by_insurer[self.kyokai]
            else:
                result = self.residents
            cache_[key] = result
            return result

        return scope

    def create_agency_systems(self) -> None:
        wanted = []
        for o in self.data["organizations"]:
            for i in o["institutions"]:
                if (
                    o["kind"] == "municipality"
                    and i["kind"] in ("municipality_head", "board_of_education")
                ) or (
                    o["slug"] in ("kanagawa", "nenkin", "jasso", "kyoukaikenpo")
                    and i["code"].endswith("0000000001")
                ):
                    wanted.append(i["code"])
        labels = {
            "municipality_head": "住民情報・福祉総合システム",
            "prefecture_head": "福祉総合システム",
            "board_of_education": "就学事務システム",
            "pension_service": "年金業務システム",
            "health_insurer": "適用・給付システム",
            "other": "業務システム",
        }
        for code in wanted:
            inst = self.institutions[code]
            name = f"{inst.organization.name} {labels.get(inst.kind, '業務システム')}"
            _system, key = agency_system_create(institution=inst, name=name)
            self.api_keys.append((code, name, key))
            # The system's operators present their own credentials: one for a clerk who
            # sends queries and one for a provider operator who answers held ones.
            for role in (StaffRole.CLERK, StaffRole.PROVIDER_OPERATOR):
                staff = (
                    StaffMember.objects.filter(institution=inst, role=role)
                    .select_related("user", "institution")
                    .order_by("user__username")
                    .first()
                )
                if staff is not None:
                    _credential, secret = operator_credential_issue(staff=staff)
                    self.operator_credentials.append((code, staff.user.username, secret))


def _applicants(
    hint: str, scope: list[Resident], loader: Loader
) -> list[tuple[Resident, list[tuple[Resident, str]]]]:
    """(applicant, case members with roles) pairs that fit an affair's kind of applicant."""
    residents, households = loader.residents, loader.households

    def household_of(r: Resident) -> list[tuple[Resident, str]]:
        members = [residents[i] for i in households[r.household].members]
        return [(r, "本人")] + [(m, m.relationship) for m in members if m is not r]

    def child_household(lo: int, hi: int, kinds: tuple[str, ...] | None = None) -> list[Any]:
        out = []
        seen: set[int] = set()
        for r in scope:
            if r.household in seen or r.relationship != "世帯主":
                continue
            hh = households[r.household]
            if kinds and hh.kind not in kinds:
                continue
            if (
                any(
                    lo <= residents[i].age <= hi and residents[i].relationship == "子"
                    for i in hh.members
                )
                and r.age >= 18
            ):
                seen.add(r.household)
                out.append((r, household_of(r)))
        return out

    def alone(pred: Callable[[Resident], bool]) -> list[Any]:
        return [(r, [(r, "本人")]) for r in scope if pred(r)]

    if hint == "child":
        return child_household(0, 17)
    if hint == "infant":
        return child_household(0, 5)
    if hint == "school_child":
        return child_household(6, 15)
    if hint == "high_school":
        return child_household(15, 17)
    if hint == "single_parent":
        return child_household(0, 17, ("single_parent",))
    if hint == "student":
        return [(r, household_of(r)) for r in scope if 18 <= r.age <= 22]
    if hint == "welfare":
        return [(r, household_of(r)) for r in scope if r.welfare and r.relationship == "世帯主"]
    if hint == "foreign":
        return [(r, household_of(r)) for r in scope if r.foreign and r.relationship == "世帯主"]
    if hint == "disabled":
        return alone(lambda r: r.disabled)
    if hint == "nhi":
        return alone(lambda r: r.age >= 18 and r.insurer in loader.nhi_institutions)
    if hint == "adult_20_59":
        return alone(lambda r: 20 <= r.age < 60)
    if hint == "adult_40_64":
        return alone(lambda r: 40 <= r.age < 65)
    if hint == "elderly":
        return alone(lambda r: r.age >= 65)
    if hint == "elderly75":
        return alone(lambda r: r.age >= 75)
    return alone(lambda r: r.age >= 18)  # adult, insured


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _require_pks(objs: Sequence[Any]) -> None:
    """bulk_create returns primary keys on PostgreSQL and SQLite >= 3.35, which we rely on."""
    if any(o.pk is None for o in objs):
        raise RuntimeError("this database does not return primary keys from bulk inserts")


def _db_value(model: Any, field_name: str, value: Any) -> Any:
    return model._meta.get_field(field_name).get_db_prep_save(value, connection)


def _counts() -> dict[str, int]:
    return {
        "organizations": Organization.objects.count(),
        "institutions": Institution.objects.count(),
        "departments": Department.objects.count(),
        "affairs_statutory": Affair.objects.filter(basis=LegalBasis.STATUTORY).count(),
        "affairs_independent": Affair.objects.filter(basis=LegalBasis.INDEPENDENT).count(),
        "items": InformationItem.objects.count(),
        "rules": LinkageRule.objects.count(),
        "households": Household.objects.count(),
        "persons": Person.objects.count(),
        "dv_protected": Person.objects.filter(disclosure_protected=True).count(),
        "addressee_numbers": AddresseeNumber.objects.count(),
        "tokens": InstitutionToken.objects.count(),
        "provision_copies": ProvisionCopy.objects.count(),
        "staff": StaffMember.objects.count(),
        "cases_open": Case.objects.filter(closed_at__isnull=True).count(),
        "cases_closed": Case.objects.filter(closed_at__isnull=False).count(),
        "case_members": CaseMember.objects.count(),
        "consents": Consent.objects.count(),
        "agency_systems": AgencySystem.objects.count(),
    }


def demo_world_load(
    *,
    seed: int = 0,
    residents: int = 2000,
    progress: bool = True,
    progress_file: TextIO | None = None,
) -> DemoWorld | None:
    """Create the whole demo world in one transaction, or return None without changing
    anything when it is already present (so running it twice leaves the database as it was).

    Returns the counts, the logins to show and the agency API keys (shown once: the caller
    writes them to a file and must not print them).
    """
    validate_arguments(seed=seed, residents=residents)
    if demo_world_present():
        return None
    loader = Loader(seed=seed, residents=residents, progress_file=progress_file)
    with (
        tqdm(
            total=residents * 2,
            unit="人",
            disable=not progress,
            file=loader.progress_file,
            dynamic_ncols=True,
        ) as bar,
        transaction.atomic(),
    ):
        bar.set_description("団体・事務・連携許可")
        loader.load_reference()
        bar.set_description("住民の生成")
        loader.generate_residents()
        loader.assign_circumstances()
        loader.choose_dv_protected()
        loader.save_residents(bar)
        loader.save_tokens_and_copies(bar)
        bar.set_description("職員・案件")
        loader.create_staff()
        loader.create_cases()
        loader.create_agency_systems()
        bar.set_description("完了")
    return DemoWorld(
        seed=seed,
        residents=residents,
        counts=_counts(),
        logins=demo_logins(),
        api_keys=loader.api_keys,
        operator_credentials=loader.operator_credentials,
    )
