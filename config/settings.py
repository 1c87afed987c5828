"""Settings for Yaritori, read from the environment (django-environ).

With no environment at all the project runs embedded: SQLite in var/, Celery on kombu's
filesystem transport in var/, e-mail written to var/mail/, and keys generated into var/keys/.
DATABASE_URL, CELERY_BROKER_URL and EMAIL_URL switch to PostgreSQL, Redis and a real mail server.
Every setting is listed in deploy/env.example.
"""

from __future__ import annotations

from pathlib import Path

import environ

from core.keys import random_b64_key, random_keyring_line, secret_from_env_or_file

BASE_DIR = Path(__file__).resolve().parent.parent

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
# Behind TLS (deploy/nginx) cookies must never travel over plain HTTP; the demo runs on http.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "core",
    "agencies",
    "audit",
    "portal",
]
# The demo world and the benchmarks are development tools, not the product: `make run`, the
# tests and the benchmarks turn them on; a production deployment leaves them out, and with
# them the demo password and the synthetic population.
YARITORI_DEMO = env.bool("YARITORI_DEMO", default=False)
if YARITORI_DEMO:
    INSTALLED_APPS += ["demo", "bench"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "staff:login"
LOGIN_REDIRECT_URL = "staff:home"
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)

# --- Cache: shared by every process (the portal's login throttle counts there) ---------------
# CACHE_URL (e.g. redis://127.0.0.1:6379/1) names a shared cache; the embedded default is a
# folder in var/, which the web server's worker processes share. Code that uses it fails open
# where it must (portal.throttle): a cache that is down never locks anyone out.
CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}

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
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # The demo's own witness; a real deployment runs witnesses elsewhere (docs/deploy.md).
    "witness-cosign": {"task": "audit.witness_cosign", "schedule": 60.0},
    # Mails whose task was lost (broker down at commit, a worker died) are queued again.
    "outbox-sweep": {"task": "core.outbox_sweep", "schedule": 60.0},
    # New-record notices: at most one mail an hour per resident, batched here.
    "portal-record-notices": {"task": "portal.record_notices", "schedule": 300.0},
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
AUDIT_LOG_ORIGIN = env.str("AUDIT_LOG_ORIGIN", default="demo.yaritori.invalid/audit-log")


def _new_log_signer() -> str:
    """A C2SP note signer key (PRIVATE+KEY+origin+...) for the audit log's checkpoints."""
    from audit.tlog.note import generate_signer

    signer_text, _verifier_text = generate_signer(AUDIT_LOG_ORIGIN)
    return signer_text


AUDIT_LOG_SIGNING_KEY = secret_from_env_or_file(
    "AUDIT_LOG_SIGNING_KEY", KEYS_DIR / "audit_log_signing_key", _new_log_signer
)
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=7 * 365 + 2)
WITNESS_DIR = Path(env.str("WITNESS_DIR", default=str(VAR_DIR / "witness")))

# --- REST framework -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Yaritori API",
    "DESCRIPTION": "Agency linkage API and the public transparency-log endpoints.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Logging: one line per record to stderr -----------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

REQUIRE_SERVICES = env.bool("REQUIRE_SERVICES", default=False)
