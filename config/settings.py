"""Settings for Yaritori, read from the environment (django-environ).

With no environment at all the project runs embedded: SQLite in var/, Celery on kombu's
filesystem transport in var/, e-mail written to var/mail/, and keys generated into var/keys/.
DATABASE_URL, CELERY_BROKER_URL and EMAIL_URL switch to PostgreSQL, Redis and a real mail server.
Every setting is listed in deploy/env.example.
"""

from __future__ import annotations

import datetime as dt
from email.utils import getaddresses
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF

from config.logconfig import log_level
from config.logging_json import log_formatter
from core.keys import random_b64_key, random_keyring_line, secret_from_env_or_file

BASE_DIR = Path(__file__).resolve().parent.parent
# The site-wide templates/ and locale/: beside config/ in the source tree, inside it
# (config/site/, see setup.py) when the project runs from an installed wheel.
SITE_DIR = Path(__file__).resolve().parent / "site"
if not SITE_DIR.is_dir():
    SITE_DIR = BASE_DIR

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("YARITORI_VAR_DIR", default=str(BASE_DIR / "var"))).resolve()
KEYS_DIR = VAR_DIR / "keys"
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = secret_from_env_or_file(
    "DJANGO_SECRET_KEY", KEYS_DIR / "django_secret_key", lambda: random_b64_key(48)
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Behind TLS (deploy/nginx) cookies must never travel over plain HTTP, so Secure is the
# default; only the plain-http demo (`make run`, config/run_all.py) turns it off, explicitly.
SECURE_COOKIES = env.bool("DJANGO_SECURE_COOKIES", default=True)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = SECURE_COOKIES
# No script needs to read a cookie (the API authenticates by key, forms carry the CSRF token).
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = LANGUAGE_COOKIE_HTTPONLY = True
# Lax: a link from another site still opens a page logged in, but no other site can make the
# browser POST with the session (Strict would log the clerk out on every link from mail).
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Proxies whose X-Forwarded-For is believed for the client's address (login lockout): the nginx
# on this host, like gunicorn's forwarded_allow_ips (deploy/gunicorn.conf.py), which reads the
# same variable.
TRUSTED_PROXY_IPS = env.list("FORWARDED_ALLOW_IPS", default=["127.0.0.1", "::1"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI and Redoc as static files of this site: no CDN (config/urls.py).
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "config.apps.ProjectConfig",
    "core",
    "agencies",
    "audit",
    "portal",
    "detection",
    "dashboard",
]
# The demo world and the benchmarks are development tools, not the product: `make run`, the
# tests and the benchmarks turn them on; a production deployment leaves them out, and with
# them the demo password and the synthetic population.
YARITORI_DEMO = env.bool("YARITORI_DEMO", default=False)
if YARITORI_DEMO:
    INSTALLED_APPS += ["demo", "bench"]

MIDDLEWARE = [
    # The request's id (nginx's X-Request-ID or a new one) on every log record and the answer.
    "config.logging_json.RequestIdMiddleware",
    # /healthz and /readyz, answered before any host check, session or rate limit.
    "config.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.security.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.security.AbsoluteSessionTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes asks: it turns a login refused by the lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SITE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "portal.context.pinned_key_texts",
            ],
        },
    },
]

# --- Cache: shared by every process -------------------------------------------------------------
# The agency API's rate limits and the portal's login throttle count in it. CACHE_URL (e.g.
# redis://127.0.0.1:6379/1) names a shared cache; the embedded default is a folder in var/,
# which the web server's worker processes share. Every user of the cache fails open: a cache
# that is down never refuses a request or locks anyone out.
CACHES = {"default": env.cache_url("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # A cache that does not answer must cost a request half a second at most (the callers
    # fail open), never a hung worker.
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    )

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'yaritori.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker read while the web server writes; the timeout rides out short locks.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The same backend, with a health check that looks at the socket instead of a round trip.
    DATABASES["default"]["ENGINE"] = "config.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, i18n, static -----------------------------------------------------------------------
# Length is what resists guessing; 12 is the floor for accounts that reach personal data, and
# the common-password list refuses the long ones everybody tries first.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes first: it refuses a locked-out login before any password is checked. It watches only
# django.contrib.auth's authenticate(), i.e. the staff and admin logins; the agency API
# authenticates by key (agencies.api.AgencyKeyAuthentication) and never reaches it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lockout policy: 5 wrong passwords for one user name from one address lock that pair out for
# 15 minutes, and every further try restarts the 15 minutes. Per user name *and* address, so
# that a guesser elsewhere cannot lock a clerk out of their own desk; 5 tries leave room for
# typos and allow at most 20 guesses an hour per address and name. A right password resets
# the count.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_LOCKOUT_CALLABLE = "config.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "config.security.client_ip"
# What axes stores of a failed attempt's POST: never the password (axes stars it), nor the
# CSRF token.
AXES_SENSITIVE_PARAMETERS = ["password", "csrfmiddlewaretoken"]
# Sessions: 30 minutes idle (the expiry moves on with every request) and 10 hours at most from
# the login (config.security.AbsoluteSessionTimeoutMiddleware): a working day, no longer.
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_ABSOLUTE_AGE = 10 * 60 * 60
LOGIN_URL = "staff:login"
LOGIN_REDIRECT_URL = "staff:home"
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [SITE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# collectstatic writes each file under a name with its content's hash, plus a gzip copy:
# browsers and nginx may keep them forever, and a new version is a new name. Pages then need
# collectstatic's manifest (make run, the image and a deploy all run it); the test
# suite uses the plain storage instead (config/test_settings.py).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Resident portal --------------------------------------------------------------------------
# Witness verifier keys that the portal pins beside the log's own key ("name+id+key", comma
# separated). Empty: the demo's own witness, read from WITNESS_DIR/witness.vkey.
PORTAL_WITNESS_KEYS = env.list("PORTAL_WITNESS_KEYS", default=[])
# How many witnesses must have cosigned a checkpoint for the page to call a record verified.
PORTAL_WITNESS_QUORUM = env.int("PORTAL_WITNESS_QUORUM", default=1)
# Login throttle: attempts per card serial and per client address in a window (seconds).
PORTAL_LOGIN_LIMIT_PER_CARD = env.int("PORTAL_LOGIN_LIMIT_PER_CARD", default=10)
PORTAL_LOGIN_LIMIT_PER_ADDRESS = env.int("PORTAL_LOGIN_LIMIT_PER_ADDRESS", default=30)
PORTAL_LOGIN_WINDOW = env.int("PORTAL_LOGIN_WINDOW", default=15 * 60)
# Where notice mails send residents to log in.
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")

# --- Auditors' dashboard ------------------------------------------------------------------------
# Processes for the dashboard's full verification (PostgreSQL; audit_verify --jobs). 1 inside a
# Celery prefork worker, whose processes may not start children of their own.
DASHBOARD_VERIFY_JOBS = env.int("DASHBOARD_VERIFY_JOBS", default=1)
# A witness whose last cosignature is older than this, while newer checkpoints exist, is shown
# as behind (amber); a refusal is shown in red whatever its age.
DASHBOARD_WITNESS_STALE_SECONDS = env.int("DASHBOARD_WITNESS_STALE_SECONDS", default=600)
# The integration delay (oldest entry not yet in the chain) shown amber beyond this many
# seconds, red beyond ten times it: the sequencer keeps it under a second.
DASHBOARD_DELAY_WARN_SECONDS = env.float("DASHBOARD_DELAY_WARN_SECONDS", default=5.0)

# --- E-mail: files in var/mail unless EMAIL_URL names a server --------------------------------
EMAIL_FILE_PATH = VAR_DIR / "mail"
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="yaritori@localhost")

# --- Celery: kombu's filesystem transport unless CELERY_BROKER_URL names a broker -------------
CELERY_QUEUE_DIR = VAR_DIR / "celery" / "queue"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_QUEUE_DIR.mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery" / "processed").mkdir(parents=True, exist_ok=True)
    # Producer and worker meet only if both folders are the same one.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR),
        "data_folder_out": str(CELERY_QUEUE_DIR),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        # Otherwise kombu creates ./control in whatever folder the worker started from.
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# JSON only, both ways: a task takes ids and dates, and nothing a broker holds can be code.
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# A task is acknowledged when it has finished, so one lost with its worker runs again (every
# task is idempotent); one task at a time per worker process, so none waits behind a long one.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Defaults for tasks that set none: no task may hang a worker.
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
# The worker waits for a broker that is down and reconnects, for ever; a publisher (a web
# request, the beat) gives up within about two seconds and the work is found again later
# (the scanner's watermark, the outbox's sweep), so nothing hangs on a dead broker.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # An unacknowledged task is handed out again after this long: longer than any task's
        # time limit, or a slow task would run twice at once.
        "visibility_timeout": 3600,
        "socket_timeout": 5,
        "socket_connect_timeout": 5,
        "retry_on_timeout": True,
    }
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
# Misuse detection: how often beat starts a scan (seconds; entry-to-alert delay is about this
# plus the sequencer's pace), and where mails link to.
DETECTION_SCAN_INTERVAL = env.float("DETECTION_SCAN_INTERVAL", default=2.0)
AUDIT_BASE_URL = env.str("AUDIT_BASE_URL", default="http://127.0.0.1:8000")
DETECTION_DIGEST_HOUR = env.int("DETECTION_DIGEST_HOUR", default=8)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # The demo's own witness; a real deployment runs witnesses elsewhere (docs/deploy.md).
    "witness-cosign": {"task": "audit.witness_cosign", "schedule": 60.0},
    # Mails whose task was lost (broker down at commit, a worker died) are queued again.
    "outbox-sweep": {"task": "core.outbox_sweep", "schedule": 60.0},
    # Scans that pile up while no worker runs expire instead of running one after another:
    # any one of them catches up from the watermark.
    "detection-scan": {
        "task": "detection.scan",
        "schedule": DETECTION_SCAN_INTERVAL,
        "options": {"expires": max(10.0, DETECTION_SCAN_INTERVAL * 5)},
    },
    "detection-daily-digests": {
        "task": "detection.daily_digests",
        "schedule": crontab(hour=DETECTION_DIGEST_HOUR, minute=0),
    },
    # New-record notices: at most one mail an hour per resident, batched here.
    "portal-record-notices": {"task": "portal.record_notices", "schedule": 300.0},
    # The auditors' search index follows the log within seconds (dashboard.indexer).
    "dashboard-index-entries": {"task": "dashboard.index_entries", "schedule": 5.0},
}

# --- Domain keys --------------------------------------------------------------------------------
# My Number encryption keyring: "id:base64,id:base64", the first key encrypts, all decrypt.
MYNUMBER_ENCRYPTION_KEYS = secret_from_env_or_file(
    "MYNUMBER_ENCRYPTION_KEYS", KEYS_DIR / "mynumber_encryption_keys", random_keyring_line
)
MYNUMBER_BLIND_INDEX_KEY = secret_from_env_or_file(
    "MYNUMBER_BLIND_INDEX_KEY", KEYS_DIR / "mynumber_blind_index_key", random_b64_key
)
NETWORK_TOKEN_KEY = secret_from_env_or_file(
    "NETWORK_TOKEN_KEY", KEYS_DIR / "network_token_key", random_b64_key
)
# The key of the ledger's subject pseudonyms (audit.entries.subject_key). Empty: derived from
# NETWORK_TOKEN_KEY, as it always was. Pinned to that derived value (base64) before
# NETWORK_TOKEN_KEY is rotated, so that every resident's history stays under one pseudonym
# (docs/operations.md). Never generated: only read when given.
LEDGER_SUBJECT_KEY = secret_from_env_or_file(
    "LEDGER_SUBJECT_KEY", KEYS_DIR / "ledger_subject_key", None
)
AUDIT_LOG_ORIGIN = env.str("AUDIT_LOG_ORIGIN", default="demo.yaritori.invalid/audit-log")


def _new_log_signer() -> str:
    """A C2SP note signer key (PRIVATE+KEY+origin+...) for the audit log's checkpoints."""
    from audit.tlog.note import generate_signer

    signer_text, _verifier_text = generate_signer(AUDIT_LOG_ORIGIN)
    return signer_text


AUDIT_LOG_SIGNING_KEY = secret_from_env_or_file(
    "AUDIT_LOG_SIGNING_KEY", KEYS_DIR / "audit_log_signing_key", _new_log_signer
)
# Verifier keys ("name+keyid+base64", public) of the log's earlier signing keys: after a key
# rotation, checkpoints signed before it still verify (docs/operations.md).
AUDIT_LOG_PREVIOUS_VERIFIER_KEYS = env.list("AUDIT_LOG_PREVIOUS_VERIFIER_KEYS", default=[])
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=7 * 365 + 2)
WITNESS_DIR = Path(env.str("WITNESS_DIR", default=str(VAR_DIR / "witness")))
# /readyz fails when an entry waits for integration and the latest checkpoint is older than
# this (seconds): the sequencer integrates within a second; a minute rides out its restart.
HEALTH_SEQUENCER_MAX_AGE = env.int("HEALTH_SEQUENCER_MAX_AGE", default=60)

# --- Headers: HSTS, CSP, referrer ---------------------------------------------------------------
# Browsers that once saw the site over HTTPS refuse plain HTTP to it for a year. Django sends
# it on HTTPS responses only, so the plain-http demo is not affected. Not for subdomains: other
# hosts of the operator's domain may not serve HTTPS.
SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
# `check --deploy` warnings that are deliberate (docs/deploy.md, "check --deploy"):
# security.W005: HSTS without includeSubDomains, for the reason above;
# security.W008: no SECURE_SSL_REDIRECT, because nginx redirects http to https before Django
# sees a request (deploy/nginx/yaritori.conf), and the plain-http demo must not redirect;
# security.W021: no HSTS preload, which needs includeSubDomains and is hard to undo.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W008", "security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
# Other sites never learn which page (a case, a request) a link was followed from. Not
# "no-referrer": the site's own requests keep their Referer, which Django's CSRF check over
# HTTPS needs from a browser that sends no Origin header.
SECURE_REFERRER_POLICY = "same-origin"
# Only this origin's own files: no inline script or style, no CDN, no plugin, no framing.
# A view that needs more widens it for itself with csp.decorators (config/urls.py: /api/docs/
# may show data: images, nothing else).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Error reports (500 pages, error mails) hide passwords, PINs, keys and every My Number.
DEFAULT_EXCEPTION_REPORTER = "config.security.MaskingExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.security.MaskingExceptionReporterFilter"

# --- REST framework -----------------------------------------------------------------------------
# Requests per agency system (key): N/s, N/m or N/h. A business system's batch runs at a few
# per second; the limit stops one leaked key from flooding the network.
AGENCY_API_RATE = env.str("AGENCY_API_RATE", default="6000/m")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Size and nesting checked before parsing (agencies/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["agencies.api.parsers.BoundedJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Yaritori API",
    "DESCRIPTION": "Agency linkage API and the public transparency-log endpoints.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Logging: one line per record to stderr -----------------------------------------------------
# LOG_FORMAT=json (the default: one JSON object per line, UTC times, request and task ids, for
# a log collector) or text (readable, what `make run` sets); config/logging_json.py. Every
# handler masks My Numbers and API keys in what it writes (config.security.MaskingLogFilter).
# Every ERROR, from any logger, is also mailed to ADMINS (none by default; masked too).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_secrets": {"()": "config.security.MaskingLogFilter"},
        "request_context": {"()": "config.logging_json.RequestContextFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {"default": {"()": log_formatter(LOG_FORMAT)}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "default",
            "filters": ["request_context", "mask_secrets"],
        },
        # Django's error mails to ADMINS, masked like the console.
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "mask_secrets"],
        },
    },
    "root": {
        "handlers": ["console", "mail_admins"],
        "level": log_level(env.str("LOG_LEVEL", default="INFO")),
    },
    "loggers": {
        # Its records reach the root's handlers (console, mail_admins) like everyone's.
        "django": {"level": "INFO"},
        "django.db.backends": {"level": "WARNING"},
        # axes narrates every step at INFO; its warnings (failures, lockouts) stay.
        "axes": {"level": "WARNING"},
    },
}
# Who receives the error mails: "Name <address>, address, ..." (DJANGO_ADMINS), from
# SERVER_EMAIL. Without any, errors are only logged.
ADMINS = [
    (name or address, address)
    for name, address in getaddresses([env.str("DJANGO_ADMINS", default="")])
    if address
]
SERVER_EMAIL = env.str("DJANGO_SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# The Celery worker keeps the handlers above (JSON, masking, task ids) instead of its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

REQUIRE_SERVICES = env.bool("REQUIRE_SERVICES", default=False)
