"""Kindling settings: everything comes from the environment, with defaults that make `make run` work."""

import secrets
from pathlib import Path

import dj_database_url

from kindling import env
from kindling.env import env_bool, env_int, env_str
from kindling.ops.logs import log_format

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("KINDLING_DATA_DIR", str(BASE_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def secret_from_file(path: Path) -> str:
    # Generated once into the data dir so that sessions survive restarts; readable by the owner only.
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = env_str("SECRET_KEY") or secret_from_file(DATA_DIR / "secret_key")
DEBUG = env_bool("KINDLING_DEBUG", False)
PORT = env.port()
BASE_URL = env_str("KINDLING_BASE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")
ALLOWED_HOSTS = [h for h in env_str("KINDLING_ALLOWED_HOSTS", "*").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env_str("KINDLING_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "kindling.accounts",
    "kindling.projects",
    "kindling.credentials",
    "kindling.jobs",
    "kindling.inbox",
    "kindling.runs",
    "kindling.exports",
    "kindling.audit",
    "kindling.plans",
    "django.contrib.admin",
    "kindling.search",
    "kindling.ops",
    "kindling.vcs",
    "kindling.collections",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Project Settings: a renamed project's old portal URLs redirect for 60 days.
    "kindling.projects.redirects.OldSlugRedirectMiddleware",
    # After CsrfViewMiddleware: ends a session 24 hours after login (kindling/accounts/sessions.py).
    "kindling.accounts.sessions.SessionExpiryMiddleware",
    "kindling.audit.middleware.record_support_requests",
    "kindling.security.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "kindling.urls"
ASGI_APPLICATION = "kindling.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "kindling" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kindling.runs.context.sandbox_warning",
                "kindling.accounts.sessions.session_context",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "kindling.sqlite3",
            "OPTIONS": {
                # WAL lets the portal read while a worker writes; IMMEDIATE takes the write lock at BEGIN
                # so two processes never deadlock upgrading a read lock (the claim relies on this).
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
    }
# Keep connections between requests: opening a SQLite connection (WAL pragma, Django's functions)
# costs about as much CPU as storing an inbox message.
DATABASES["default"].setdefault("CONN_MAX_AGE", 600)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project-list"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]

# A lost password's recovery token (accounts/recovery.py) works for an hour, and once.
PASSWORD_RESET_TIMEOUT = 60 * 60

# v1: a session ends 24 hours after login, in every tab, whatever the user does meanwhile.
SESSION_COOKIE_AGE = 24 * 60 * 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Security headers and cookies (kindling/security.py). When the public address is https the session
# and CSRF cookies are only sent over https, and browsers are told to use https only (HSTS).
HTTPS = BASE_URL.startswith("https://")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
HSTS_SECONDS = env_int("KINDLING_HSTS_SECONDS", 365 * 24 * 60 * 60 if HTTPS else 0, minimum=0)
HSTS_HEADER = f"max-age={HSTS_SECONDS}" if HTTPS and HSTS_SECONDS else ""
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts only from our own static files: no inline script, no eval, no other origin.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "worker-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [
    BASE_DIR / "kindling" / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules" / "bootstrap-icons" / "font"),
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    # Job Studio's editor: Monaco's prebuilt AMD bundle, loaded with its own loader (no bundler).
    ("vendor/monaco", BASE_DIR / "node_modules" / "monaco-editor" / "min"),
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
    # The API reference at /api/v1/docs (kindling/api_reference.py).
    ("vendor/swagger-ui", BASE_DIR / "node_modules" / "swagger-ui-dist"),
]
# Static files are served by WhiteNoise straight from the finders: no collectstatic step to forget.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# The inbox enforces its own 8 MB limit with a 413; Django's check would answer 400 first.
INBOX_MAX_BYTES = 8 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = None
# The bytes of request bodies the inbox holds in memory at once, per web process; past it: 503.
INBOX_BUFFER_BYTES = env_int("KINDLING_INBOX_BUFFER_MB", 64, minimum=INBOX_MAX_BYTES // 2**20) * 2**20

# Collections (kindling/collections): where jobs reach the collections API (the portal's own port by
# default; the sandbox lets jobs reach it, kindling/engine/sandbox.py), and the size limits.
COLLECTIONS_URL = env.collections_url()
COLLECTIONS_ITEM_MAX_BYTES = env_int("KINDLING_COLLECTIONS_ITEM_MAX_KB", 1024, minimum=1) * 1024
COLLECTIONS_PROJECT_MAX_BYTES = env_int("KINDLING_COLLECTIONS_PROJECT_MAX_MB", 100, minimum=1) * 2**20
COLLECTIONS_REQUEST_MAX_BYTES = 64 * 2**20

# Mail (cron state warnings, password recovery): printed on the console unless an SMTP server is set.
EMAIL_HOST = env_str("KINDLING_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("KINDLING_EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("KINDLING_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("KINDLING_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("KINDLING_EMAIL_STARTTLS", False)
EMAIL_USE_SSL = env_bool("KINDLING_EMAIL_SSL", False)
EMAIL_TIMEOUT = 30
# Every email goes through the counting backend (kindling/ops/mail.py: sent and failed for /metrics),
# which hands it to this one.
EMAIL_BACKEND = "kindling.ops.mail.CountingBackend"
EMAIL_DELIVERY_BACKEND = env_str(
    "KINDLING_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if env_str("KINDLING_EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env_str("KINDLING_FROM_EMAIL", "kindling@localhost")

# Execution
ADAPTOR_REPO_DIR = Path(env_str("KINDLING_ADAPTOR_DIR", str(DATA_DIR / "adaptors"))).resolve()
RUN_TIMEOUT_SECONDS = env.run_timeout_seconds()
RUN_MEMORY_MB = env_int("KINDLING_RUN_MEMORY_MB", 512, minimum=32)
WORKER_POLL_SECONDS = float(env_str("KINDLING_WORKER_POLL", "0.2"))
# Runs one `kindling worker` process executes at once (threads); projects' concurrency still rules.
WORKER_SLOTS = env.worker_slots()
# A worker renews the lease of its runs every third of this; a run whose lease ran out is lost (exit 4).
RUN_LEASE_SECONDS = env_int("KINDLING_RUN_LEASE", 30, minimum=3)

# The warm pool of Node processes in each worker (kindling/engine/pool.py): per project up to
# POOL_SIZE processes, each recycled after POOL_MAX_RUNS runs or once its heap passes
# POOL_MAX_HEAP_MB, killed after POOL_IDLE_SECONDS unused; at most POOL_MAX_PROCESSES kept in all.
# POOL_SIZE unset: as many as the worker has slots (runs/worker.py), so that a project running 4 runs
# at once on 4 slots runs each on a warm process, not 2 of them on a fresh one (a third of a second
# and a Node process more each); processes start only as runs need them.
ENGINE_POOL = {
    **({"size": env_int("KINDLING_POOL_SIZE", 2, minimum=0)} if env_str("KINDLING_POOL_SIZE") else {}),
    "max_runs": env_int("KINDLING_POOL_MAX_RUNS", 1000, minimum=1),  # engine.pool.MAX_RUNS
    "max_heap_mb": env_int("KINDLING_POOL_MAX_HEAP_MB", 256, minimum=16),
    "idle_seconds": env_int("KINDLING_POOL_IDLE_SECONDS", 300, minimum=1),
    "max_processes": env_int("KINDLING_POOL_MAX_PROCESSES", 8, minimum=1),
    "standby": env_int("KINDLING_POOL_STANDBY", 1, minimum=0),
}

# Billing (kindling/plans): "none" on a self-hosted instance (instance administrators assign plans,
# no card is asked), or "stripe" (a payment card through Stripe Elements before a paid plan).
BILLING_PROVIDER = env.billing_provider()
STRIPE_SECRET_KEY = env_str("KINDLING_STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env_str("KINDLING_STRIPE_PUBLISHABLE_KEY")
STRIPE_API_BASE = env_str("KINDLING_STRIPE_API_BASE")  # empty: Stripe's own
STRIPE_JS_URL = env_str("KINDLING_STRIPE_JS_URL", "https://js.stripe.com/v3/")

# Operations (kindling/ops): /metrics asks for `Authorization: Bearer <token>` when this is set.
METRICS_TOKEN = env_str("KINDLING_METRICS_TOKEN")
# A `kindling worker` serves its own metrics on this port when set (workers on other machines).
METRICS_PORT = env_int("KINDLING_METRICS_PORT", 0, minimum=0)
METRICS_ADDRESS = env_str("KINDLING_METRICS_ADDRESS", "127.0.0.1")

# KINDLING_LOG_FORMAT=json: one JSON object per line, with run and project ids (kindling/ops/logs.py).
LOG_FORMAT = log_format()
# Version control (kindling/vcs): the operator's GitHub OAuth app, and GitHub's addresses (a GitHub
# Enterprise server has its own). `git` runs with this timeout, in seconds, for every network step.
GITHUB_CLIENT_ID = env_str("KINDLING_GITHUB_CLIENT_ID")
GITHUB_CLIENT_SECRET = env_str("KINDLING_GITHUB_CLIENT_SECRET")
GITHUB_URL = env_str("KINDLING_GITHUB_URL", "https://github.com").rstrip("/")
GITHUB_API_URL = env_str("KINDLING_GITHUB_API_URL", "https://api.github.com").rstrip("/")
GIT_TIMEOUT = env_int("KINDLING_GIT_TIMEOUT", 30, minimum=1)
# Repositories on this server's disk (a path or file://): for single-tenant installations and tests.
GIT_LOCAL_REPOSITORIES = env_bool("KINDLING_GIT_LOCAL_REPOSITORIES", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "kindling.ops.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("KINDLING_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
