"""The portal session: which card is logged in, and whose records its holder is looking at
(their own, or a principal's as proxy).

Residents are not Django users. A portal session (Django's signed session cookie naming a
server-side session) holds the card's id and a hash of the card's state, so a PIN reset, a
lock or a reissue ends every session of that card. Logging in cycles the session key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Concatenate, ParamSpec

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from agencies.models import Person
from portal import selectors
from portal.models import Card, ProxyMandate
from portal.services import card_session_hash

SESSION_CARD = "portal_card"
SESSION_HASH = "portal_card_hash"
SESSION_ACTING = "portal_acting_for"
# Idle minutes after which a portal session ends (the brief's secure session).
SESSION_IDLE_SECONDS = 30 * 60


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the card's holder (person) and whose records (subject): the holder's
    own, or, as proxy under an active mandate, the principal's."""

    card: Card
    person: Person
    subject: Person
    mandate: ProxyMandate | None

    @property
    def as_proxy(self) -> bool:
        return self.mandate is not None


def portal_login(request: HttpRequest, card: Card) -> None:
    """Start a portal session for card (a fresh session key: no fixation)."""
    request.session.cycle_key()
    request.session[SESSION_CARD] = card.pk
    request.session[SESSION_HASH] = card_session_hash(card)
    request.session.pop(SESSION_ACTING, None)
    request.session.set_expiry(SESSION_IDLE_SECONDS)


def portal_logout(request: HttpRequest) -> None:
    """End the session entirely (a new key, nothing kept)."""
    request.session.flush()


def card_of(request: HttpRequest) -> Card | None:
    """The session's card, if it is still live, unlocked and unchanged since the login."""
    card_id = request.session.get(SESSION_CARD)
    if card_id is None:
        return None
    card = (
        Card.objects.select_related("person")
        .filter(pk=card_id, revoked_at__isnull=True, locked_at__isnull=True)
        .first()
    )
    if card is None or request.session.get(SESSION_HASH) != card_session_hash(card):
        return None
    return card


def viewer_of(request: HttpRequest) -> Viewer | None:
    """The request's viewer, or None when no card is logged in. Acting as proxy holds only
    while the mandate is active and its principal may have a proxy; otherwise the viewer
    falls back to their own records."""
    card = card_of(request)
    if card is None:
        return None
    person = card.person
    acting = request.session.get(SESSION_ACTING)
    if acting:
        try:
            mandate = selectors.active_mandate(proxy=person, public_id=uuid.UUID(acting))
        except ValueError:
            mandate = None
        if mandate is not None:
            return Viewer(card, person, mandate.principal, mandate)
        request.session.pop(SESSION_ACTING, None)
    return Viewer(card, person, person, None)


P = ParamSpec("P")


def resident_required(
    view: Callable[Concatenate[HttpRequest, Viewer, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Only with a logged-in card; the view receives the Viewer. Otherwise to the login."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        viewer = viewer_of(request)
        if viewer is None:
            return redirect(f"{_login_url()}?next={request.path}")
        return view(request, viewer, *args, **kwargs)

    return wrapped


def _login_url() -> str:
    from django.urls import reverse

    return reverse("portal:login")
