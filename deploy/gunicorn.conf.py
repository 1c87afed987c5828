"""Gunicorn settings for Yaritori: gunicorn -c deploy/gunicorn.conf.py config.wsgi

Command-line options and GUNICORN_CMD_ARGS override anything here (the systemd unit uses that
to bind to 127.0.0.1 behind nginx).
"""

import os

# Every module-level name here is read as a gunicorn setting ("config" is one): import names
# that are not.
from config.gunicorn_banner import hide_server_header

# No `Server: gunicorn` header on the responses (config/gunicorn_banner.py).
hide_server_header()


def _cpus() -> int:
    # The CPUs this process may run on (a container's cpuset), not every CPU of the host.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# All interfaces, because in a container the port is published by Docker; PORT picks the port.
bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"

# Sync workers: a process per request means one slow request never stalls another. CPUs + 1,
# not gunicorn's generic 2 x CPUs + 1: a linkage request spends most of its time in Python and
# only a fraction of a millisecond waiting for PostgreSQL, so one spare worker keeps the cores
# busy, and more only add context switches. On 2 cores, 3 workers against 5 gave p99 18 ms
# against 29 ms at 250 requests/s, and about 4 % more throughput (docs/benchmarks.md). The cap
# matters because each worker keeps a PostgreSQL connection open (DATABASE_CONN_MAX_AGE).
workers = int(os.environ.get("WEB_CONCURRENCY") or min(_cpus() + 1, 12))
worker_class = "sync"

# A request still running after 30 s is stuck: kill the worker rather than let requests queue.
timeout = 30
# On reload or stop, give in-flight requests time to finish and commit their audit entries.
graceful_timeout = 30

# Recycle each worker after a while so a slow leak stays bounded; the jitter keeps the workers
# from all restarting in the same second. A restart costs about a second of CPU (the worker
# imports Django and the project again), so the period is counted in minutes at full load, not
# seconds: at 2,000 requests a 2-core machine serving 500 requests/s spent a tenth of its CPU
# re-importing (docs/benchmarks.md).
max_requests = 50_000
max_requests_jitter = 5_000

# Each worker imports the app itself: no database connection or key material is inherited
# across fork, and a HUP reload picks up new code.
preload_app = False


def post_worker_init(worker: object) -> None:
    """Once the worker has loaded the application: load the views too and freeze the heap, so
    the garbage collector stops rescanning it (config/warm.py: a full collection went from
    55-92 ms to 2-7 ms, a pause every second or two at full load)."""
    from config.warm import warm_and_freeze

    warm_and_freeze()


# The heartbeat file on tmpfs: a worker must not be killed as stuck because a disk is slow.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Both logs to stderr, collected by journald or Docker.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# The path (%(U)s) and never the query string (%(q)s) or the Referer (another page's URL): no
# personal data should ever be in a URL, and if some ever is, it still stays out of the logs.
# rid: the request id the application answered with (X-Request-ID, config/logging_json.py).
access_log_format = (
    '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s" rid=%({x-request-id}o)s'
)

# The application's log format (LOG_FORMAT, json unless set to text): with json, gunicorn's own
# error and access lines are JSON objects too, one a line, masked like the application's.
if os.environ.get("LOG_FORMAT", "json").strip().lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "config.logging_json.JsonFormatter"}},
        "filters": {"mask_secrets": {"()": "config.security.MaskingLogFilter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["mask_secrets"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["console"], "level": "INFO"},
        "loggers": {
            "gunicorn.error": {
                "handlers": ["console"],
                "level": loglevel.upper(),
                "propagate": False,
            },
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }

# Believe X-Forwarded-Proto only from nginx on this host: that is what makes Django see HTTPS.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Gunicorn 25+ opens a control socket under $HOME that can resize or stop the server; systemd and
# Docker signals are all we use, so there is nothing to guard. Older versions ignore this name.
control_socket_disable = True
