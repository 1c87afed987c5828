"""The synthetic population's pieces: residents and households as planned before they are
saved, the age pyramid, names and addresses, and the chances of welfare and employment.

Pure: no database, no Django models but the Person a resident carries. Everything is drawn from
the random.Random the loader passes in, except My Numbers (MyNumberSource).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agencies.codes import my_number_check_digit
from agencies.models import Person, Sex

# Ages are counted at this fixed date so that a seed gives the same birth dates on any day.
BIRTH_ANCHOR = dt.date(2025, 4, 1)


class MyNumberSource:
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
class Resident:
    """A resident as planned: the unsaved Person and the circumstances that decide which
    records (副本) and cases the resident gets."""

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
class SyntheticHousehold:
    """A household (世帯) as planned, before it is saved: its members are indexes of residents."""

    index: int
    org: str
    kind: str
    number: str
    address: str
    postal_code: str
    members: list[int] = field(default_factory=list)


class Ages:
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


class Names:
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


def birth_date(rng: random.Random, age: int) -> dt.date:
    return BIRTH_ANCHOR - dt.timedelta(days=age * 365 + age // 4 + rng.randrange(365))


def age_on(dob: dt.date, day: dt.date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


_BUILDINGS = ("コーポ", "ハイツ", "メゾン", "レジデンス", "グランハイム", "パークサイド")


def street_address(rng: random.Random, org: dict[str, Any]) -> tuple[str, str]:
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


def welfare_probability(household_kind: str, head_age: int) -> float:
    """Share of households on public assistance (生活保護), highest for elderly one-person
    and single-parent households, as in the national statistics (about 1.6% overall)."""
    if household_kind == "single" and head_age >= 65:
        return 0.06
    if household_kind == "single_parent":
        return 0.10
    return 0.008


def employment_probability(age: int) -> float:
    if age < 18:
        return 0.0
    if age < 22:
        return 0.25
    if age < 60:
        return 0.86
    if age < 65:
        return 0.6
    return 0.3
