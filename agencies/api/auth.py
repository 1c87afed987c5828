"""How an agency system proves who it is: `Authorization: Bearer yk_...`, the key's SHA-256
matched against an active AgencySystem, remembered briefly per process."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from agencies.models import AgencySystem
from agencies.tokens import secret_hash
from core.cache import ProcessCache

API_KEY_TTL = 10.0  # seconds another process may go on accepting a key deactivated elsewhere


def _active_system(key_hash: str) -> AgencySystem | None:
    return (
        AgencySystem.objects.select_related("institution__organization")
        .filter(key_hash=key_hash, is_active=True)
        .first()
    )


# Every API request presents its key, so a found system is remembered for API_KEY_TTL seconds;
# unknown keys are never remembered, so guessing cannot grow the memory.
_systems: ProcessCache[str, AgencySystem] = ProcessCache(
    "agency-keys", ttl=API_KEY_TTL, load=_active_system
)
_systems.clear_on_change(AgencySystem)


def agency_system_for_key(key: str) -> AgencySystem | None:
    """The active AgencySystem (with its institution) whose key this is, or None.

    A deactivation in this process takes effect at once; in another process, within
    API_KEY_TTL seconds.
    """
    return _systems.get(secret_hash(key))


class AgencySystemPrincipal:
    """The authenticated caller: an agency system, standing in for a user."""

    is_authenticated = True
    is_active = True

    def __init__(self, system: AgencySystem) -> None:
        self.system = system
        self.institution = system.institution


class AgencyKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer yk_...`: the key's SHA-256 must match an active system."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[AgencySystemPrincipal, AgencySystem] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Authorization must be 'Bearer <key>'.")
        key = parts[1].decode("ascii", errors="replace")
        system = agency_system_for_key(key)
        if system is None:
            raise AuthenticationFailed("Unknown or inactive API key.")
        now = timezone.now()
        # At most one write a minute per system: this runs on every API request.
        if system.last_used_at is None or now - system.last_used_at > dt.timedelta(minutes=1):
            AgencySystem.objects.filter(pk=system.pk).update(last_used_at=now)
            system.last_used_at = now
        return AgencySystemPrincipal(system), system

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class AgencyKeyScheme(OpenApiAuthenticationExtension):
    target_class = "agencies.api.auth.AgencyKeyAuthentication"
    name = "agencyKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "Agency system API key"}


class IsAgencySystem(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.user, AgencySystemPrincipal)
