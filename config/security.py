"""Web security controls that are not a view's business: what error reports and log records
may contain, how long a login lasts, which answers may be cached, and what a lockout looks
like. docs/security.md says what each control is for and how it is tested.

Imported by the logging configuration while Django starts, so module-level imports stay
light (nothing here imports a model at import time).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import render
from django.template.defaultfilters import pprint
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from agencies.codes import my_number_check_digit

security_log = logging.getLogger("yaritori.security")

# --- My Number in free text ---------------------------------------------------------------------

MY_NUMBER_MASK = "●●●●-●●●●-●●●●"  # as the admin shows a registered number
_DIGIT = "[0-9０-９]"
_GROUP_SEPARATOR = r"[ \-‐－]?"
# Twelve digits standing alone (not part of a longer run of digits such as a 15-digit 宛名番号
# or a 16-digit institution code), ASCII or full-width, optionally grouped 4-4-4 with a space or
# hyphen, as people type them. Only those whose last digit is the check digit are masked.
_MY_NUMBER_CANDIDATE = re.compile(
    rf"(?<![0-9０-９])({_DIGIT}{{4}}){_GROUP_SEPARATOR}({_DIGIT}{{4}}){_GROUP_SEPARATOR}"
    rf"({_DIGIT}{{4}})(?![0-9０-９])"
)
# Agency API keys and operator credentials (agencies/tokens.py) and bearer credentials,
# wherever they are quoted.
_API_KEY = re.compile(r"\by[ko]_[A-Za-z0-9_\-]{16,}|(?i:\bbearer\s+)[A-Za-z0-9._~+/=\-]{16,}")


def _is_my_number(match: re.Match[str]) -> bool:
    digits = unicodedata.normalize("NFKC", "".join(match.groups()))
    return int(digits[11]) == my_number_check_digit(digits[:11])


def _mask_match(match: re.Match[str]) -> str:
    return MY_NUMBER_MASK if _is_my_number(match) else match.group(0)


def mask_secrets(text: str) -> str:
    """`text` with every My Number in it (12 digits whose last is the check digit, ASCII or
    full-width, optionally grouped 4-4-4) replaced by ●●●●-●●●●-●●●●, and every agency API
    key or bearer credential replaced by ********. Other digit runs are left alone."""
    if not text:
        return text
    text = _MY_NUMBER_CANDIDATE.sub(_mask_match, text)
    return _API_KEY.sub("********", text)


def contains_my_number(text: str) -> bool:
    """Whether `text` holds a 12-digit sequence that passes the My Number check digit."""
    return any(_is_my_number(m) for m in _MY_NUMBER_CANDIDATE.finditer(text))


# --- Error reports ------------------------------------------------------------------------------


class _Shown:
    """A frame variable already rendered and masked: the report prints it as it is."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class MaskingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter for error reports (the 500 page, error mails), made to hide by default.

    On top of what Django hides (settings, META keys and cookies whose name looks secret; POST
    fields and variables a view marked with sensitive_post_parameters / sensitive_variables):
    - any POST field, variable, setting, header or dict key whose *name* looks secret or
      personal (password, PIN, key, token, My Number ...), marked or not;
    - any My Number, API key or bearer credential inside any value shown, whatever its name.
    Always active, even with DEBUG on: a debug page left on over real data must still not show
    a resident's number.
    """

    # Django's list, plus the card's PIN (as a word: not "mapping"), My Number and the session
    # and CSRF values, which are credentials too.
    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|COOKIE|CSRF|SESSION|CREDENTIAL|(?:^|_|-)PIN"
        "|MY_?NUMBER",
        flags=re.IGNORECASE,
    )

    def is_active(self, request: HttpRequest | None) -> bool:
        return True

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):  # lazy strings too: compare their text
            masked = mask_secrets(str(cleansed))
            return masked if masked != str(cleansed) else cleansed
        return cleansed

    def _cleanse_query(self, query: QueryDict) -> QueryDict:
        query = query.copy()
        for name in list(query):
            if self.hidden_settings.search(name):
                query.setlist(name, [self.cleansed_substitute])
            else:
                query.setlist(
                    name,
                    [mask_secrets(v) if isinstance(v, str) else v for v in query.getlist(name)],
                )
        return query

    def get_cleansed_multivaluedict(
        self, request: HttpRequest, multivaluedict: QueryDict
    ) -> QueryDict:
        return self._cleanse_query(super().get_cleansed_multivaluedict(request, multivaluedict))

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        post = super().get_post_parameters(request)
        return self._cleanse_query(post) if isinstance(post, QueryDict) else post

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        shown: list[tuple[str, Any]] = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if self.hidden_settings.search(name):
                shown.append((name, self.cleansed_substitute))
            elif isinstance(value, MultiValueDict):
                # Already cleansed (request.POST and the like); keep its QueryDict form.
                shown.append((name, _Shown(mask_secrets(pprint(value)))))
            else:
                # Secret-looking keys of dicts starred, then the value as the report prints it,
                # masked.
                shown.append((name, _Shown(mask_secrets(pprint(self.cleanse_setting("", value))))))
        return shown


class MaskingExceptionReporter(ExceptionReporter):
    """Django's error report (500 page, AdminEmailHandler mail) with the exception's own
    message masked too, and the rendered report passed through mask_secrets once more, so
    that a My Number in a message, a chained exception or a query string is hidden as well."""

    def get_traceback_data(self) -> dict[str, Any]:
        data: dict[str, Any] = super().get_traceback_data()
        for key in ("exception_value", "exception_notes"):
            if isinstance(data.get(key), str):
                data[key] = mask_secrets(data[key])
        return data

    # Masking replaces digits and key characters only, so what was safe HTML stays safe.
    def get_traceback_html(self) -> SafeString:
        return mark_safe(mask_secrets(super().get_traceback_html()))  # noqa: S308

    def get_traceback_text(self) -> SafeString:
        return mark_safe(mask_secrets(super().get_traceback_text()))  # noqa: S308


# --- Logging ------------------------------------------------------------------------------------


class MaskingLogFilter(logging.Filter):
    """A handler filter that rewrites each record's message, traceback and stack with
    mask_secrets, so that no handler writes a My Number or an API key. It never drops a
    record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as usual
            return True
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_secrets(record.stack_info)
        return True


# --- Client address (login lockout) -------------------------------------------------------------


def _is_trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in settings.TRUSTED_PROXY_IPS:
        if entry == "*":
            return True
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_ip(request: HttpRequest) -> str:
    """The address of the client a login attempt came from (AXES_CLIENT_IP_CALLABLE).

    X-Forwarded-For is believed only from a trusted proxy (TRUSTED_PROXY_IPS, the nginx on
    this host by default), and then only its last address, the one that proxy wrote; from
    anyone else the header is ignored, so a client cannot dodge its lockout by inventing
    addresses.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and _is_trusted_proxy(remote):
        last = forwarded.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            pass
    return remote


# --- Login events -------------------------------------------------------------------------------


def _username(credentials: Mapping[str, Any] | None) -> str:
    # Django has already starred out the password in the credentials it signals.
    username = (credentials or {}).get("username") or ""
    return mask_secrets(str(username)[:150])


def log_login_failed(
    sender: Any,
    credentials: Mapping[str, Any] | None = None,
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    """Receiver of user_login_failed: one warning per failed login, never the password."""
    security_log.warning(
        "login failed: username=%r ip=%s path=%s",
        _username(credentials),
        client_ip(request) if request is not None else "-",
        request.path if request is not None else "-",
    )


def log_locked_out(
    sender: Any,
    request: HttpRequest | None = None,
    username: str | None = None,
    ip_address: str | None = None,
    **kwargs: Any,
) -> None:
    """Receiver of axes' user_locked_out: one warning per attempt refused by the lockout."""
    security_log.warning(
        "login locked out: username=%r ip=%s path=%s cool-off=%s",
        _username({"username": username}),
        ip_address or "-",
        request.path if request is not None else "-",
        settings.AXES_COOLOFF_TIME,
    )


LOGIN_AT_SESSION_KEY = "_yaritori_login_at"


def remember_login_time(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """Receiver of user_logged_in: the time of the login, for the absolute session timeout."""
    request.session[LOGIN_AT_SESSION_KEY] = int(timezone.now().timestamp())


def connect_signals() -> None:
    """Connect the receivers above (called once, from config.apps)."""
    from axes.signals import user_locked_out
    from django.contrib.auth.signals import user_logged_in, user_login_failed

    user_login_failed.connect(log_login_failed, dispatch_uid="yaritori.security.login_failed")
    user_locked_out.connect(log_locked_out, dispatch_uid="yaritori.security.locked_out")
    user_logged_in.connect(remember_login_time, dispatch_uid="yaritori.security.login_time")


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: Mapping[str, Any] | None = None,
) -> HttpResponse:
    """The page shown instead of a login form while a user name is locked out from an
    address (AXES_LOCKOUT_CALLABLE): 429, in the visitor's language, saying how long."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "security/locked_out.html",
        {"minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )


# --- Middleware ---------------------------------------------------------------------------------

Middleware = Callable[[HttpRequest], HttpResponseBase]


class AbsoluteSessionTimeoutMiddleware:
    """Ends a login SESSION_ABSOLUTE_AGE seconds after it began, however active it has been.

    The idle timeout is Django's own (SESSION_COOKIE_AGE with SESSION_SAVE_EVERY_REQUEST); this
    bounds what a stolen or forgotten session is worth. A login without a recorded time (one
    from before this control existed) is ended too: it cannot be proved young enough.
    Goes after AuthenticationMiddleware.
    """

    def __init__(self, get_response: Middleware) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # Without a session cookie there is no login to end; not touching the session then
        # keeps `Vary: Cookie` off the answers to cookieless clients (API, checkpoint).
        if settings.SESSION_COOKIE_NAME in request.COOKIES and request.user.is_authenticated:
            started = request.session.get(LOGIN_AT_SESSION_KEY)
            now = timezone.now().timestamp()
            if not isinstance(started, int) or now - started >= settings.SESSION_ABSOLUTE_AGE:
                from django.contrib.auth import logout

                security_log.info(
                    "session ended: %s after login (absolute timeout) user=%r",
                    "unknown time" if not isinstance(started, int) else f"{now - started:.0f} s",
                    request.user.get_username(),
                )
                logout(request)
        return self.get_response(request)


# Responses that may be kept by a browser or a proxy: public, no personal data, and they set
# their own Cache-Control. Everything else gets no-store.
NO_STORE = "no-store"


class NoStoreMiddleware:
    """`Cache-Control: no-store` and `Pragma: no-cache` on every response that does not say
    how it may be cached itself, so that no page or API answer with personal data stays in a
    browser's cache or a proxy. A view that serves public data opts out by setting its own
    Cache-Control (the log checkpoint does); static files never get here (WhiteNoise answers
    them first). Goes right after WhiteNoise, so that it also sees the answers other
    middleware make (CSRF failures, lockouts, redirects to the login page)."""

    def __init__(self, get_response: Middleware) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = NO_STORE
        if NO_STORE in _directives(response["Cache-Control"]) and not response.has_header("Pragma"):
            response["Pragma"] = "no-cache"  # HTTP/1.0 caches know only this
        return response


def _directives(header: str) -> Iterable[str]:
    return (part.strip().split("=", 1)[0].lower() for part in header.split(","))
