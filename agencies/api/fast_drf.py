"""DRF made cheap for the hot endpoint: no content negotiation, plain input fields copied
shallowly, and output written from the declared fields by a plan built once per class.

Each piece exists because a profile of a linkage request showed it (docs/benchmarks.md), and
each keeps DRF's behaviour: a test compares the output with DRF's generic path.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Generic, TypeVar

from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

T = TypeVar("T")


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Answers are always JSON: with one renderer there is nothing to choose, so the Accept
    header is not parsed (DRF's negotiation cost 3 % of a linkage request's CPU). Request
    bodies are still checked against the parsers: anything but JSON is a 415."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class FlatInputSerializer(serializers.Serializer[dict[str, Any]]):
    """An input serializer of plain fields (no nested serializers, no list or dict fields),
    built cheaply for every request.

    DRF deep-copies every declared field for each serializer instance, and each copy runs the
    field's __init__ again: a seventh of a linkage request's CPU. A plain field keeps no
    state of its own but its binding to the serializer (name, parent), which DRF sets on the
    copy, so a shallow copy is as good. Fields that hold other fields would share those, so
    they are refused when the class is defined."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, field in cls._declared_fields.items():
            if isinstance(field, serializers.BaseSerializer) or hasattr(field, "child"):
                raise TypeError(
                    f"{cls.__name__}.{name}: a flat input serializer holds plain fields"
                )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {name: _shallow_copy(field) for name, field in self._declared_fields.items()}


def _shallow_copy(field: Any) -> Any:
    # copy.copy's generic __reduce_ex__ path costs three times this.
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


class PlannedOutputSerializer(serializers.Serializer[T], Generic[T]):
    """An output serializer whose document is computed from its declared fields, declared
    once, by a plan built on first use: DRF's generic path deep-copies every field of the
    serializer on each use, a noticeable share of a request's CPU.

    Plain fields (a dotted `source` is followed; None stays None) and SerializerMethodField
    are supported; `omitted(instance)` names fields left out of one document. The output is
    the generic path's, less the omitted fields (a test holds the two equal).
    """

    _plan: ClassVar[list[tuple[str, Callable[[Any], Any] | None, Any]] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._plan = None

    @classmethod
    def _build_plan(cls) -> list[tuple[str, Callable[[Any], Any] | None, Any]]:
        plan: list[tuple[str, Callable[[Any], Any] | None, Any]] = []
        for name, field in cls._declared_fields.items():
            if isinstance(field, serializers.SerializerMethodField):
                plan.append((name, None, field.method_name or f"get_{name}"))
            elif isinstance(field, serializers.BaseSerializer) or hasattr(field, "child"):
                raise TypeError(f"{cls.__name__}.{name}: a planned output holds plain fields")
            else:
                plan.append((name, operator.attrgetter(str(field.source or name)), field))
        return plan

    def omitted(self, instance: T) -> Iterable[str]:
        """Names of declared fields to leave out of instance's document (none by default)."""
        return ()

    def to_representation(self, instance: T) -> dict[str, Any]:
        cls = type(self)
        if cls._plan is None:
            cls._plan = cls._build_plan()
        document: dict[str, Any] = {}
        for name, get, how in cls._plan:
            if get is None:
                document[name] = getattr(self, how)(instance)
            else:
                value = get(instance)
                document[name] = None if value is None else how.to_representation(value)
        for name in self.omitted(instance):
            del document[name]
        return document
