"""Settings for the ABM dashboard, read from the environment.

Two shapes:
- development (the default): SQLite file next to manage.py, Celery tasks run in-process,
  DEBUG on, an insecure key. `make run` needs nothing else.
- production (`DJANGO_ENV=production`): every secret must come from the environment and the
  deploy checks pass; docker-compose.yml sets it.

With `DATABASE_URL` (PostgreSQL) and `REDIS_URL` set, either shape uses the real services.
"""

import datetime as _dt
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"DJANGO_ENV must be 'development' or 'production', not {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DEBUG", default=not PRODUCTION)

if PRODUCTION:
    # Fail loudly: a production server must never start with a guessable key.
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-development-only-key-do-not-deploy")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "accounts",
    "metrics",
    "imports",
    "dashboard",
    "quality",
    "alerts",
    "fit",
    "sales",
]

MIDDLEWARE = [
    # First: /healthz answers before sessions, auth and host checks (abm_dashboard/middleware.py).
    "abm_dashboard.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "abm_dashboard.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "abm_dashboard.middleware.BrokerUnavailableMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "abm_dashboard.urls"

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
                "abm_dashboard.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "abm_dashboard.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dashboard read while an import or a metrics run writes; IMMEDIATE avoids
    # "database is locked" upgrades in concurrent write transactions.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First, as django-axes asks: refuses a locked-out login before the password is checked.
    "abm_dashboard.login_limits.AxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
# Every metric window is a whole UTC day (METRICS.md), so the server thinks in UTC.
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Uploaded import files can be large: stream them to disk, never hold them in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024

# Celery: with no REDIS_URL every task runs in-process (eager), so the embedded setup needs no
# broker; with one, real workers and exactly one beat process do the work.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis gives an unacknowledged message (its worker died: acks_late) back to the queue after
# this many seconds. Longer than the slowest task, or a task still running is delivered a second
# time (harmless: the metrics tasks are idempotent, but wasted work); the metrics stall detector
# re-queues lost chunks well before it (METRICS_RUN_STALL_MINUTES).
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=1800)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_TIMEZONE = "UTC"
CELERY_RESULT_EXPIRES = 24 * 3600

# A dead Redis must cost a request a second, not the operating system's TCP timeout.
_REDIS_CACHE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
         "OPTIONS": _REDIS_CACHE_OPTIONS}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    ),
    # API rate-limit counts (abm_dashboard/throttling.py). They must be shared by every web
    # process, or each gunicorn worker grants the whole rate again (per-process memory let 6,631
    # requests through a 6000/hour limit in one minute). With Redis: Redis, and a Redis outage
    # lets requests through rather than failing them. Without Redis (the embedded setup, one
    # machine): files under THROTTLE_CACHE_DIR, which all processes of the machine share. Files
    # rather than DatabaseCache because that needs a cache table created outside `migrate` and
    # would add a SQLite write, serialised with imports and metrics runs, to every API request.
    "throttle": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
         "KEY_PREFIX": "throttle", "OPTIONS": _REDIS_CACHE_OPTIONS}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
              "LOCATION": str(env.path("THROTTLE_CACHE_DIR", default=BASE_DIR / ".cache" / "throttle")),
              "OPTIONS": {"MAX_ENTRIES": 10_000}}
    ),
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["abm_dashboard.throttling.SharedUserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env.str("API_THROTTLE_RATE", default="6000/hour")},
    # JSON nesting bounded (abm_dashboard/parsers.py); body size by DATA_UPLOAD_MAX_MEMORY_SIZE.
    "DEFAULT_PARSER_CLASSES": [
        "abm_dashboard.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ABM metrics dashboard API",
    "DESCRIPTION": "Accounts, contacts, programs, touchpoints and the daily ABM metric snapshots.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One schema name per shared choice set (several fields use them).
    "ENUM_NAME_OVERRIDES": {
        "TouchpointKindEnum": "accounts.models.TouchpointKind",
        "ChannelEnum": "accounts.models.Channel",
    },
    # The default hook, then the metric fields described from the registry of figures.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "metrics.api.schema.describe_figures",
    ],
}

# Brute-force limits (django-axes) on the login page, the admin login and POST /api/v1/auth/token/.
# Counted per username *and* address together: locking a username from anywhere would let anyone
# lock a colleague out, and locking an address would lock out a whole office behind one NAT. The
# address is REMOTE_ADDR (django-ipware is not installed, so X-Forwarded-For cannot be spoofed);
# behind a proxy every client shares the proxy's address and the limit becomes per username.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = _dt.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "abm_dashboard.login_limits.lockout_response"
AXES_VERBOSE = False  # no banner on every manage.py command; lockouts are still logged

# Content-Security-Policy (django-csp 4): scripts only from our own static files (Plotly figures
# arrive as json_script data, which is not executed; the API docs use drf-spectacular's split
# Swagger view, whose init script is a separate file). Inline styles stay allowed: plotly.js and
# htmx inject them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    },
}
# Browser features no page here uses (django-permissions-policy): denied to every origin.
PERMISSIONS_POLICY = {"camera": [], "microphone": [], "geolocation": [], "payment": [], "usb": []}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # axes logs every login at INFO (the admin's Axes pages keep them); lockouts are WARNING.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SESSION_COOKIE_HTTPONLY = True

# The currency the pages name beside amounts (pipeline, revenue, cost, sales velocity). Amounts
# are summed as stored, so this is the currency the CRM's opportunities and the program costs are in.
REPORTING_CURRENCY = env.str("REPORTING_CURRENCY", default="USD")

# The nightly metrics run (metrics/tasks.py): accounts per chunk task, and when beat starts it.
METRICS_CHUNK_SIZE = env.int("METRICS_CHUNK_SIZE", default=2000)
METRICS_NIGHTLY_HOUR_UTC = env.int("METRICS_NIGHTLY_HOUR_UTC", default=2)
# The nightly run computes every day of this many, ending yesterday, that has no complete run.
METRICS_BACKFILL_MAX_DAYS = env.int("METRICS_BACKFILL_MAX_DAYS", default=7)
# A run is stalled when no chunk of any run in progress finished for this long (longer than the
# slowest chunk); beat's stall detector then re-queues its missing work, at most this many times
# before it marks the run failed (docs/operations.md, "Metrics runs").
METRICS_RUN_STALL_MINUTES = env.int("METRICS_RUN_STALL_MINUTES", default=10)
METRICS_RUN_MAX_ATTEMPTS = env.int("METRICS_RUN_MAX_ATTEMPTS", default=3)

# The ICP fit score (fit/, docs/metrics.md "Fit"): retrained every night at this hour, after the
# metrics run; learnt from closed new-business deals only with at least this many won and as many
# lost (fewer: the marketer's rule profile scores the accounts instead).
FIT_NIGHTLY_HOUR_UTC = env.int("FIT_NIGHTLY_HOUR_UTC", default=3)
FIT_MIN_DEALS = env.int("FIT_MIN_DEALS", default=30)

# Imports (docs/import.md, docs/operations.md): the largest upload the page accepts, how long
# uploads and rejected-row files are kept, and after how long without progress a running import
# is declared lost with its worker.
IMPORT_MAX_UPLOAD_BYTES = env.int("IMPORT_MAX_UPLOAD_BYTES", default=1 << 30)
IMPORT_RETENTION_DAYS = env.int("IMPORT_RETENTION_DAYS", default=7)
IMPORT_STALL_MINUTES = env.int("IMPORT_STALL_MINUTES", default=30)

# Email: the alert digests and the weekly summary (alerts/). Either EMAIL_URL (django-environ's
# form, e.g. smtp+tls://user:password@smtp.example.com:587) or EMAIL_HOST and its companions.
# With neither, development prints every email on the console; production tries SMTP on
# localhost:25, and a failed send shows on the Alerts page with its reason.
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
elif env.str("EMAIL_HOST", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env.str("EMAIL_HOST")
    EMAIL_PORT = env.int("EMAIL_PORT", default=587)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
else:
    EMAIL_BACKEND = (
        "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION
        else "django.core.mail.backends.console.EmailBackend"
    )
# A mail server that hangs must not hold a worker for long: the send is retried instead.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ABM dashboard <abm-dashboard@localhost>")

# Alerts (alerts/; docs/operations.md, "Alerts"). Links in emails and webhooks start with
# ALERTS_BASE_URL (production default: https:// and the first plain host of ALLOWED_HOSTS).
_FIRST_HOST = next((h for h in ALLOWED_HOSTS if h and h[0] not in ".*"), "localhost")
ALERTS_BASE_URL = env.str(
    "ALERTS_BASE_URL", default=f"https://{_FIRST_HOST}" if PRODUCTION else "http://127.0.0.1:8000"
)
# A finished metrics run sends its day's alerts only if the day is at most this many days old
# (a backfill of old days sends nothing); beat re-checks the latest day at ALERTS_DIGEST_HOUR_UTC.
ALERTS_DIGEST_MAX_AGE_DAYS = env.int("ALERTS_DIGEST_MAX_AGE_DAYS", default=2)
ALERTS_DIGEST_HOUR_UTC = env.int("ALERTS_DIGEST_HOUR_UTC", default=6)
# The weekly executive summary: Mondays at this hour.
ALERTS_WEEKLY_HOUR_UTC = env.int("ALERTS_WEEKLY_HOUR_UTC", default=7)
# Webhooks are user-provided URLs: a short timeout, and a few retries with doubling backoff
# (ALERTS_RETRY_BACKOFF_SECONDS, then twice that, …) before a delivery is marked failed.
ALERTS_WEBHOOK_TIMEOUT_SECONDS = env.float("ALERTS_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
ALERTS_WEBHOOK_MAX_RETRIES = env.int("ALERTS_WEBHOOK_MAX_RETRIES", default=4)
# Webhooks to loopback, private and link-local addresses are refused unless this is set (a receiver
# on the company's own network, say): a user-typed URL must not reach the dashboard's neighbours.
ALERTS_WEBHOOK_ALLOW_PRIVATE = env.bool("ALERTS_WEBHOOK_ALLOW_PRIVATE", default=False)
ALERTS_EMAIL_MAX_RETRIES = env.int("ALERTS_EMAIL_MAX_RETRIES", default=3)
ALERTS_RETRY_BACKOFF_SECONDS = env.int("ALERTS_RETRY_BACKOFF_SECONDS", default=30)
# A delivery still "sending" after this long lost its worker mid-send: marked failed, not resent.
ALERTS_SENDING_TIMEOUT_MINUTES = env.int("ALERTS_SENDING_TIMEOUT_MINUTES", default=15)
