"""The demo world: institutions, the permitted table and a synthetic population.

`demo_world_load` reads agencies/data/demo_world.json (the project's own copy of the permitted
table, derived once from the sources listed in agencies/data/README.md) and generates residents,
households, 符号, 副本, staff, cases and consents from a seed. Everything that describes people is
drawn from `random.Random(seed)`, so one seed gives the same world every time; the My Numbers are
the exception on purpose (see `_MyNumberSource`).

The whole load is one transaction. My Numbers exist in clear only inside `_MyNumberSource` and
`seal_my_number_fields`; they are never printed, logged or written anywhere but the encrypted
column. Agency API keys are returned to the caller, which writes them to a file once.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import random
import secrets
import sys
import uuid
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TextIO

import jpholiday
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from tqdm import tqdm

from agencies.codes import my_number_check_digit, validate_local_government_code
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
    LinkageRequest,
    LinkageRule,
    LinkageStatus,
    Organization,
    OrganizationKind,
    Person,
    ProvisionCopy,
    Sex,
    StaffMember,
    StaffRole,
)
from agencies.services import (
    agency_system_create,
    persons_bulk_create,
    seal_my_number_fields,
)
from agencies.tokens import derive_institution_token

DATA_FILE = Path(__file__).resolve().parent / "data" / "demo_world.json"

DEMO_PASSWORD = "yaritori-demo"
"""The one password of every demo login (admin, auditor and all staff). Demo only."""

AUDITORS_GROUP = "auditors"
MIN_RESIDENTS = 50
MAX_RESIDENTS = 1_000_000

# Ages are counted at this fixed date so that a seed gives the same birth dates on any day.
BIRTH_ANCHOR = dt.date(2025, 4, 1)
DV_REASON = "DV等支援措置"
_TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")

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


# --- data file ---------------------------------------------------------------------------------


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


class _MyNumberSource:
    """Unique random My Numbers with a valid check digit.

    Drawn from the operating system's generator, not from the seed: the seed is public (it is in
    the README and on the command line), and nobody should be able to re-create a demo
    resident's number from it. Numbers only pass through here into seal_my_number_fields.
    """

    def __init__(self) -> None:
        self._rng = secrets.SystemRandom()
        self._issued: set[str] = set()

    def draw(self) -> str:
        while True:
            first = f"{self._rng.randrange(10**10, 10**11):011d}"
            number = first + str(my_number_check_digit(first))
            if number not in self._issued:
                self._issued.add(number)
                return number


@dataclass(slots=True)
class _Resident:
    index: int
    person: Person
    org: str
    household: int
    relationship: str
    age: int
    foreign: bool
    employed: bool = False
    income: int = 0
    insurer: str = ""  # institution code of the medical insurer, "" when none in the world
    welfare: bool = False
    disabled: bool = False
    care_level: str = ""
    unemployed_benefit: bool = False
    dv: bool = False


@dataclass(slots=True)
class _Household:
    index: int
    org: str
    kind: str
    number: str
    address: str
    postal_code: str
    members: list[int] = field(default_factory=list)


class _Ages:
    """Samples ages from the age pyramid, optionally within a range."""

    def __init__(self, pyramid: Sequence[Sequence[int]]) -> None:
        self.weights = [0.0] * 100
        for lo, hi, weight in pyramid:
            for age in range(lo, hi + 1):
                self.weights[age] = weight / (hi - lo + 1)
        self._cum: dict[tuple[int, int], list[float]] = {}

    def draw(self, rng: random.Random, lo: int = 0, hi: int = 99) -> int:
        lo, hi = max(0, lo), min(99, hi)
        if hi <= lo:
            return lo
        cum = self._cum.get((lo, hi))
        if cum is None:
            cum = list(itertools.accumulate(self.weights[lo : hi + 1]))
            self._cum[(lo, hi)] = cum
        return lo + bisect.bisect_left(cum, rng.random() * cum[-1])


class _Names:
    def __init__(self, data: dict[str, Any]) -> None:
        family = data["family"]
        self.family = [(f[0], f[1]) for f in family]
        self.family_cum = list(itertools.accumulate(f[3] for f in family))
        self.romaji = {(f[0], f[1]): f[2] for f in family}
        self.given = data["given"]
        self.foreign = data["foreign"]

    def family_name(self, rng: random.Random) -> tuple[str, str]:
        index = bisect.bisect_left(self.family_cum, rng.random() * self.family_cum[-1])
        return self.family[index]

    def given_name(self, rng: random.Random, sex: str, age: int) -> tuple[str, str]:
        pools = self.given["male" if sex == Sex.MALE else "female"]
        era = "child" if age < 18 else "young" if age < 40 else "mid" if age < 65 else "old"
        # The "any" pool (names of every generation) adds variety; era lists keep a 70-year-old
        # from being called 陽翔.
        pool = pools["any"] if rng.random() < (0.3 if age < 40 else 0.1) else pools[era]
        name, kana = rng.choice(pool)
        return name, kana


def _birth_date(rng: random.Random, age: int) -> dt.date:
    return BIRTH_ANCHOR - dt.timedelta(days=age * 365 + age // 4 + rng.randrange(365))


def _age_on(dob: dt.date, day: dt.date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


_BUILDINGS = ("コーポ", "ハイツ", "メゾン", "レジデンス", "グランハイム", "パークサイド")


def _street_address(rng: random.Random, org: dict[str, Any]) -> tuple[str, str]:
    ward = rng.choice(org["wards"])
    town = rng.choice(ward["towns"])
    if town["chome"]:
        block = f"{rng.randint(1, 6)}丁目{rng.randint(1, 30)}番{rng.randint(1, 25)}号"
    else:
        block = f"{rng.randint(1, 2400)}番地"
    address = org["address_prefix"] + ward["ward"] + town["name"] + block
    if rng.random() < 0.4:
        address += (
            f" {rng.choice(_BUILDINGS)}{town['name']}{rng.randint(1, 12)}0{rng.randint(1, 9)}号室"
        )
    return address, town["postal_code"]


# --- the loader ------------------------------------------------------------------------------


class _Loader:
    def __init__(self, *, seed: int, residents: int, progress_file: TextIO | None) -> None:
        self.seed = seed
        self.n_residents = residents
        self.rng = random.Random(seed)
        self.data = load_world_data()
        self.today = timezone.localdate()
        self.now = timezone.now()
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
        self.residents: list[_Resident] = []
        self.households: list[_Household] = []
        self.api_keys: list[tuple[str, str, str]] = []
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
                inst = Institution.objects.create(
                    organization=org,
                    code=i["code"],
                    kind=InstitutionKind(i["kind"]),
                    name=i["name"],
                )
                self.institutions[inst.code] = inst
                for d in i["departments"]:
                    dept = Department.objects.create(
                        institution=inst, code=d["code"], name=d["name"]
                    )
                    self.departments[(inst.code, d["code"])] = dept
        for a in self.data["affairs"]:
            affair = Affair(
                code=a["code"],
                name=a["name"],
                basis=LegalBasis(a["basis"]),
                statute=a["statute"],
                table_row=a["table_row"],
                owner_organization=self.orgs.get(a.get("owner_organization") or ""),
                ordinance=a.get("ordinance", ""),
                notification_number=a.get("notification_number", ""),
                notified_on=_date(a.get("notified_on")),
            )
            affair.full_clean()
            affair.save()
            self.affairs[affair.code] = affair
        for i in self.data["items"]:
            item = InformationItem(code=i["code"], name=i["name"], category=i["category"])
            item.full_clean()
            item.save()
            item.consent_affairs.set([self.affairs[c] for c in i.get("consent_affairs", [])])
            self.items[item.code] = item
            self.item_by_name[item.name] = item
        rules = [
            LinkageRule(
                requester_kind=r["requester_kind"],
                affair=self.affairs[r["affair"]],
                provider_kind=r["provider_kind"],
                item=self.items[r["item"]],
                valid_from=dt.date.fromisoformat(r["valid_from"]),
                valid_to=_date(r.get("valid_to")),
                table_row=r["table_row"],
                source=r["source"],
            )
            for r in self.data["rules"]
        ]
        LinkageRule.objects.bulk_create(rules)
        self.tax_consent_affairs = {
            self.affairs[c].code
            for c in next(i for i in self.data["items"] if i["name"] == "地方税関係情報")[
                "consent_affairs"
            ]
        }
        self._index_providers()

    def _index_providers(self) -> None:
        """Which institution of which organisation holds 副本 of which item."""
        self.holders = ItemHolders.from_data(self.data)
        self.municipalities = [o for o in self.data["organizations"] if o["kind"] == "municipality"]
        self.nation_token_institutions = [
            i["code"]
            for o in self.data["organizations"]
            if o["kind"] == "national"
            for i in o["institutions"]
            if i["kind"] in ("national", "pension_service")
        ]
        self.jasso = next(
            i["code"]
            for o in self.data["organizations"]
            for i in o["institutions"]
            if o["kind"] == "national" and i["kind"] == "other"
        )
        self.nhi = {  # 国民健康保険: the municipality in its role as insurer
            o["code"]: i["code"]
            for o in self.municipalities
            for i in o["institutions"]
            if i["kind"] == "health_insurer"
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
        names = _Names(self.data["names"])
        ages = _Ages(self.data["age_pyramid"])
        my_numbers = _MyNumberSource()
        weights = [o["residents_weight"] for o in self.municipalities]
        household_numbers: dict[str, int] = defaultdict(int)
        kinds = ("single", "couple", "couple_children", "single_parent", "three_generations")
        kind_weights = (38, 22, 23, 9, 8)  # 2020 census shares of household types

        def add_person(
            hh: _Household,
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
                date_of_birth=_birth_date(rng, age),
                postal_code=hh.postal_code,
                address=hh.address,
                relationship=rel,
            )
            seal_my_number_fields(person=person, my_number=my_numbers.draw())
            resident = _Resident(
                index=len(self.residents),
                person=person,
                org=hh.org,
                household=hh.index,
                relationship=rel,
                age=_age_on(person.date_of_birth, self.today),
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
            address, postal = _street_address(rng, org)
            foreign = rng.random() < 0.025
            kind = rng.choices(
                kinds[:3] if foreign else kinds, kind_weights[:3] if foreign else kind_weights
            )[0]
            hh = _Household(
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
        hh: _Household,
        rng: random.Random,
        names: _Names,
        ages: _Ages,
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
            welfare = rng.random() < _welfare_probability(hh.kind, head.age)
            head_insurer = ""
            for r in members:
                r.welfare = welfare
                if welfare:
                    continue  # 医療扶助 replaces health insurance while on public assistance
                if r.age >= 75:
                    r.insurer = self.kouiki if in_kouiki_area else ""
                    continue
                work_p = _employment_probability(r.age) * (0.75 if r.relationship == "妻" else 1)
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
        household_ids = _insert_rows(
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
        counters: dict[str, int] = defaultdict(int)
        numbers = []
        for r in self.residents:
            counters[r.org] += 1
            numbers.append((org_ids[r.org], r.person.pk, f"{100_000_000 + counters[r.org]:015d}"))
        _insert_rows(AddresseeNumber, ("organization", "person", "number"), numbers)

    # -- 符号 and 副本 --

    def _token_institutions(self, r: _Resident) -> list[str]:
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

    def _provider(self, r: _Resident, item_code: str) -> str | None:
        return self.holders.holder(r.org, item_code)

    def save_tokens_and_copies(self, bar: tqdm) -> None:
        """符号 for every resident at the institutions that serve them, and the 副本 those
        institutions hold. About ten 符号 and four 副本 a resident: at 100,000 residents the
        ORM's per-object cost dominates, so rows go in through _insert_rows."""
        payloads = _Payloads(self)
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
            ids = _insert_rows(
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
            _insert_rows(
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
        names = _Names(self.data["names"])
        ages = _Ages(self.data["age_pyramid"])
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
        # Auditors read the ledger (codes and pseudonyms only) in the admin. Personal records
        # are not granted here: every auditor look at them must itself be logged (dashboard).
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="audit", codename__startswith="view_"
            )
        )

    # -- cases and consents --

    def create_cases(self) -> None:
        rng = self.rng
        scope_members = self._scopes()
        hints = {a["code"]: a["demo_applicant"] for a in self.data["affairs"]}
        reiwa = self.today.year - 2018
        cases: list[Case] = []
        case_members: list[list[tuple[_Resident, str]]] = []
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

    def _office_hours(self, days_ago: int) -> dt.datetime:
        """A moment in office hours (9:00-17:30 JST) on the last working day at or before
        days_ago days back; cases are opened and closed at the counter, not at night."""
        day = self.today - dt.timedelta(days=days_ago)
        while day.weekday() >= 5 or jpholiday.is_holiday(day):
            day -= dt.timedelta(days=1)
        minutes = self.rng.randint(0, 510)
        moment = dt.datetime.combine(day, dt.time(9, 0)) + dt.timedelta(minutes=minutes)
        return timezone.make_aware(moment, _TOKYO)

    def _scopes(
        self,
    ) -> Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], list[_Resident]]:
        by_org: dict[str, list[_Resident]] = defaultdict(list)
        by_insurer: dict[str, list[_Resident]] = defaultdict(list)
        for r in self.residents:
            by_org[r.org].append(r)
            if r.insurer:
                by_insurer[r.insurer].append(r)
        cache_: dict[tuple[str, str, str], list[_Resident]] = {}

        def scope(o: dict[str, Any], i: dict[str, Any], d: dict[str, Any]) -> list[_Resident]:
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
                    and i["kind"] in ("municipality_head", "prefecture_head", "board_of_education")
                ) or (
                    o["slug"] in ("kanagawa", "nenkin", "jasso", "kyoukaikenpo")
                    and i["code"].endswith("0000000001")
                ):
                    wanted.append(i["code"])
        labels = {
            "municipality_head": "住民情報システム",
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


def _welfare_probability(household_kind: str, head_age: int) -> float:
    """Share of households on public assistance (生活保護), highest for elderly one-person
    and single-parent households, as in the national statistics (about 1.6% overall)."""
    if household_kind == "single" and head_age >= 65:
        return 0.06
    if household_kind == "single_parent":
        return 0.10
    return 0.008


def _employment_probability(age: int) -> float:
    if age < 18:
        return 0.0
    if age < 22:
        return 0.25
    if age < 60:
        return 0.86
    if age < 65:
        return 0.6
    return 0.3


def _applicants(
    hint: str, scope: list[_Resident], loader: _Loader
) -> list[tuple[_Resident, list[tuple[_Resident, str]]]]:
    """(applicant, case members with roles) pairs that fit an affair's kind of applicant."""
    residents, households = loader.residents, loader.households

    def household_of(r: _Resident) -> list[tuple[_Resident, str]]:
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

    def alone(pred: Callable[[_Resident], bool]) -> list[Any]:
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


class _Payloads:
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

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader
        self.rng = random.Random(loader.seed * 104729 + 3)
        self.fiscal_year = loader.today.year if loader.today.month >= 6 else loader.today.year - 1

    def _day(self, days_back_lo: int, days_back_hi: int) -> str:
        days = self.rng.randint(days_back_lo, max(days_back_lo, days_back_hi))
        return (self.loader.today - dt.timedelta(days=days)).isoformat()

    def for_resident(self, r: _Resident) -> Iterator[tuple[str, dict[str, Any]]]:
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
        if children and is_head and not r.foreign:
            yield (
                "戸籍関係情報",
                {
                    "親子関係": [
                        {"続柄": "子", "生年月日": c.person.date_of_birth.isoformat()}
                        for c in children
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

    def _tax(self, r: _Resident, members: list[_Resident]) -> dict[str, Any]:
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

    def _medical(self, r: _Resident) -> dict[str, Any]:
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


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _require_pks(objs: Sequence[Any]) -> None:
    """bulk_create returns primary keys on PostgreSQL and SQLite >= 3.35, which we rely on."""
    if any(o.pk is None for o in objs):
        raise RuntimeError("this database does not return primary keys from bulk inserts")


def _db_value(model: Any, field_name: str, value: Any) -> Any:
    return model._meta.get_field(field_name).get_db_prep_save(value, connection)


def _insert_rows(
    model: Any,
    fields: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    return_ids: bool = False,
    per_statement: int = 1000,
) -> list[int]:
    """Insert rows of already-prepared database values; the new primary keys in row order
    when return_ids.

    PostgreSQL gets COPY (about ten times faster than multi-row INSERT here), with the ids
    taken from the table's sequence beforehand; SQLite gets multi-row INSERT ... RETURNING.
    Table and column names come from the model's _meta; values always travel as parameters.
    """
    if not rows:
        return []
    meta = model._meta
    qn = connection.ops.quote_name
    table = qn(meta.db_table)
    columns = [qn(meta.get_field(f).column) for f in fields]
    ids: list[int] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if return_ids:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [meta.db_table, meta.pk.column, len(rows)],
                )
                ids = [row[0] for row in cursor.fetchall()]
                columns.insert(0, qn(meta.pk.column))
                rows = [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
            copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
            return ids
        placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
        returning = f" RETURNING {qn(meta.pk.column)}" if return_ids else ""
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            values = ", ".join([placeholder] * len(batch))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}{returning}"  # noqa: S608
            cursor.execute(sql, [value for row in batch for value in row])
            if return_ids:
                ids += [row[0] for row in cursor.fetchall()]
    return ids


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
    loader = _Loader(seed=seed, residents=residents, progress_file=progress_file)
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
    )


# (organisation slug, department code) of the staff logins worth showing in the tour.
_TOUR_LOGINS = [
    ("sapporo", "1020"),
    ("sapporo", "3010"),
    ("yokohama", "1050"),
    ("yokohama", "2010"),
    ("sendai", "3010"),
    ("hayama", "1050"),
    ("kanagawa", "1030"),
    ("nenkin", "0110"),
    ("jasso", "0110"),
    ("kyoukaikenpo", "0110"),
]


def demo_logins() -> list[tuple[str, str]]:
    """The demo logins worth showing (username, what it is), read from the database: admin,
    the auditor and one clerk of each department of the tour. All use DEMO_PASSWORD."""
    users = get_user_model().objects
    logins: list[tuple[str, str]] = []
    if users.filter(username="admin", is_superuser=True).exists():
        logins.append(("admin", "Django 管理サイトのスーパーユーザー (superuser)"))
    if users.filter(username="auditor", groups__name=AUDITORS_GROUP).exists():
        logins.append(("auditor", f"監査担当 (group {AUDITORS_GROUP})"))
    for slug, dept_code in _TOUR_LOGINS:
        staff = (
            StaffMember.objects.filter(
                user__username__startswith=slug + ".",
                department__code=dept_code,
                role=StaffRole.CLERK,
            )
            .select_related("user", "institution__organization", "department")
            .annotate(n_affairs=Count("assigned_affairs"))
            .order_by("user__username")
            .first()
        )
        if staff is not None:
            what = f"{staff.institution.organization.name} {staff.department.name}"
            if staff.person_id:
                what += "（本人の住民記録あり）"
            logins.append((staff.user.username, f"{what}, 担当事務 {staff.n_affairs}件"))
    # The provider side of the tour: an operator of the institution with most requests on hold.
    busiest = (
        LinkageRequest.objects.filter(status=LinkageStatus.HELD)
        .values("provider")
        .annotate(n=Count("id"))
        .order_by("-n", "provider")
        .first()
    )
    operator = (
        StaffMember.objects.filter(
            role=StaffRole.PROVIDER_OPERATOR, institution_id=busiest["provider"]
        )
        .select_related("user", "institution__organization")
        .order_by("user__username")
        .first()
        if busiest is not None
        else None
    )
    if operator is not None:
        logins.append(
            (operator.user.username, f"{operator.institution} 提供担当（保留中の照会に回答）")
        )
    return logins


def write_api_keys(path: Path, keys: Sequence[tuple[str, str, str]]) -> None:
    """Write agency API keys (shown once) to path, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Yaritori demo agency API keys. Shown once; only their SHA-256 is in the database.",
        "# institution_code<TAB>system name<TAB>key",
    ]
    lines += [f"{code}\t{name}\t{key}" for code, name, key in keys]
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
