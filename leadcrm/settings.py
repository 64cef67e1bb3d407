"""LeadCRM settings: one module, driven by environment variables (django-environ).

Every value a deployment changes comes from the environment; the defaults are the
safe ones (DEBUG off, HTTPS redirect, secure cookies, HSTS). `make run` relaxes
the HTTPS ones explicitly for a plain-HTTP local run.
"""

import ipaddress
from pathlib import Path

import environ
from django_guid.integrations import CeleryIntegration

from leadcrm.schedule import beat_schedule

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# Where the embedded defaults keep their state: the SQLite file, the filesystem
# broker's queue and the file cache. Tests point it at a temporary folder.
VAR_DIR = Path(env.str("LEADCRM_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-" + "x" * 40)
else:
    SECRET_KEY = env.str("SECRET_KEY")  # no default outside DEBUG: refuse to start without one
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",  # intcomma/naturaltime in the lists, formatted by the active locale
    "bootstrap",  # Bootstrap 5 assets from the django-bootstrap-static package (no CDN)
    "crispy_forms",
    "crispy_bootstrap5",
    "django_countries",
    "django_ratelimit",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",  # htmx from the package (static django_htmx/htmx-2.min.js) and request.htmx
    "axes",  # failed logins and lock-out (README: Security)
    "health_check",  # /health/ endpoints (leadcrm/health.py, docs/operations.md)
    "django_guid",
    "django_otp",  # two-factor authentication (leadcrm/twofactor, docs/security-2fa.md)
    "django_otp.plugins.otp_totp",
    "leadcrm.twofactor",  # a request id on every log line, carried into the Celery tasks it enqueues
    "leads",
    "customers",
]

MIDDLEWARE = [
    "leads.middleware.LeanCaptureMiddleware",  # capture posts skip sessions, auth, OTP, axes… (its docstring)
    "leadcrm.health.LivenessMiddleware",  # /health/live: before the host check, no database
    "django_guid.middleware.guid_middleware",  # the request id (Correlation-ID) for the logs
    "django.middleware.security.SecurityMiddleware",
    "leads.middleware.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the browser's language among LANGUAGES
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): passed the second factor
    "leadcrm.twofactor.middleware.TwoFactorMiddleware",  # …or only the 2FA pages until then
    "leads.workspace.user_time_zone.UserTimeZoneMiddleware",  # dates in the user's time zone (UserPreference)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: answers a locked-out login with 429
]

ROOT_URLCONF = "leadcrm.urls"
WSGI_APPLICATION = "leadcrm.wsgi.application"

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
            ],
        },
    },
]

# Django's renderer, with the select, option and input widget templates written in Python (same HTML).
FORM_RENDERER = "leadcrm.form_renderer.FastWidgetRenderer"

# --- Database ---------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default is shared by web, worker and beat processes: wait for
    # locks instead of failing, and take the write lock up front.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # Persistent connections: ~5x the throughput of a connection per request here.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # JIT compilation added 10–75 ms to the dashboards' and lists' aggregates and saved nothing
        # at this size; short OLTP queries never gain from it.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
        # Server-side prepared statements only where the code asks for one (the capture's
        # statements and the API token's: leads/common/prepared.py): at this threshold psycopg
        # prepares nothing on its own (a generic plan would suit no search). False turns those off
        # too, for a pooler that cannot keep them (PgBouncer before 1.21, max_prepared_statements 0).
        if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
            DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 2**31 - 1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (Redis when configured; a shared file cache on one machine) -------
REDIS_URL = env.str("REDIS_URL", default="")
SILENCED_SYSTEM_CHECKS: list[str] = []
if REDIS_URL:
    # django-redis: atomic INCR, which the rate limits of the public endpoints rely on. A slow or
    # silent Redis must not hang requests: fail fast instead. The rate limits count in "ratelimit",
    # one round trip per counted request (leads/common/ratelimit_cache.py; only they may use it),
    # a django-redis RedisCache that django-ratelimit does not know by path (W001).
    _redis = {"LOCATION": REDIS_URL, "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2}}
    CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", **_redis},
        "ratelimit": {"BACKEND": "leads.common.ratelimit_cache.RateLimitCache", **_redis},
    }
    SILENCED_SYSTEM_CHECKS += ["django_ratelimit.W001"]
else:
    # One machine, no Redis (`make run`): a file cache shared by the processes. Its
    # increments are not atomic, so rate limits are approximate here; production uses Redis.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    SILENCED_SYSTEM_CHECKS += ["django_ratelimit.E003", "django_ratelimit.W001"]

# --- Auth ---------------------------------------------------------------------
# ModelBackend whose per-request user query also reads the unread notification count (the nav's badge).
# Axes first: it refuses a locked-out username/address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "leads.workspace.notifications.NotificationCountBackend",
]
# Lock-out (django-axes): after AXES_FAILURE_LIMIT failed logins of one username from one client
# address (client_ip: forwarded addresses only from TRUSTED_PROXIES), that pair is refused with a
# 429 until AXES_COOLOFF_HOURS pass or a manager unlocks it (admin "Access attempts", or
# `manage.py axes_reset_username <name>`). Counted for the login page, admin and the API token.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "leads.common.http.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Managers must set up an authenticator app (TOTP) and give its code after the password.
MANAGER_2FA_REQUIRED = env.bool("MANAGER_2FA_REQUIRED", default=False)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="LeadCRM")
LOGIN_REDIRECT_URL = "leads:start"  # reps land on "My work", everyone else on the lead list
LOGOUT_REDIRECT_URL = "login"

# --- Security (safe by default; relax only by explicit variables) ------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Load balancers probe over plain HTTP inside the network: the health endpoints are not redirected.
SECURE_REDIRECT_EXEMPT = [r"^health/"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1_048_576)
# Paths that take big files (imports) and stream them instead of holding them in memory.
LARGE_UPLOAD_PATHS = ["/imports/", "/admin/leads/importjob/"]
# Uploaded files over 1 MiB are streamed to a temporary file, never held in memory; an import
# file may be up to IMPORT_MAX_UPLOAD_SIZE (the import page answers 413 beyond it).
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=1_048_576)
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
IMPORT_MAX_UPLOAD_SIZE = env.int("IMPORT_MAX_UPLOAD_SIZE", default=200 * 1024 * 1024)
# An import of at least this many (estimated) rows is cleaned by a second process (docs/import.md).
IMPORT_CLEANER_PROCESS_MIN_ROWS = env.int("IMPORT_CLEANER_PROCESS_MIN_ROWS", default=20_000)
# Addresses or networks of our own proxies in front of gunicorn (e.g. "10.0.0.5,10.1.0.0/16"). Only
# a request from one of them has its X-Forwarded-For read (leads/common/http.py client_ip); none by default.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
for _proxy in TRUSTED_PROXIES:
    ipaddress.ip_network(_proxy.strip(), strict=False)  # a typo stops the start, not a request
# Absolute base URL of this site, for embed snippets and links in email.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Twilio voice webhooks (docs/telephony-twilio.md). The account whose signed requests are taken (more
# accounts: admin "Twilio accounts"); the public base URL Twilio calls, when a proxy rewrites it; how
# long each agent's phone rings before the next one's.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_PUBLIC_BASE_URL = env.str("TWILIO_PUBLIC_BASE_URL", default="").rstrip("/")
TWILIO_RING_SECONDS = env.int("TWILIO_RING_SECONDS", default=20)
TWILIO_RATE = env.str("TWILIO_RATE", default="3000/m")  # signed requests per account (django-ratelimit syntax)

# What other apps add to the lead page, by dotted path (leads never imports them): each callable
# takes request, lead, writer and forms and returns context for the page's templates.
LEAD_PAGE_EXTENSIONS = [
    "customers.lead_page.conversion_context",
    "leads.rep_email.page.lead_page_context",
    "leads.privacy.views.privacy_context",
]

RATELIMIT_IP_META_KEY = "leads.common.http.client_ip"  # every rate limit's "ip" key: the one client-address rule
RATELIMIT_USE_CACHE = "ratelimit" if "ratelimit" in CACHES else "default"
# Webhook posts per source, and tracking hits (page views) per visitor IP (django-ratelimit syntax).
WEBHOOK_RATE = env.str("WEBHOOK_RATE", default="600/m")
# Requests with a missing or wrong signature, per source and client address: counted apart, so
# they can never use up the real sender's WEBHOOK_RATE.
WEBHOOK_UNSIGNED_RATE = env.str("WEBHOOK_UNSIGNED_RATE", default="30/m")
TRACKING_RATE = env.str("TRACKING_RATE", default="120/m")
# Nurture sequence mail (docs/nurturing-sequences.md): sends per receiving domain and in all per
# hour (a send over a limit waits), and an optional mailto: for List-Unsubscribe.
NURTURE_DOMAIN_HOURLY_LIMIT = env.int("NURTURE_DOMAIN_HOURLY_LIMIT", default=500)
NURTURE_HOURLY_LIMIT = env.int("NURTURE_HOURLY_LIMIT", default=20000)
NURTURE_UNSUBSCRIBE_MAILTO = env.str("NURTURE_UNSUBSCRIBE_MAILTO", default="")
# A rep's own email from the lead page (docs/reps.md): sent From the rep's address ("own") or the
# team address REP_EMAIL_TEAM_FROM ("team", the rep's name shown); the rep's email pauses the lead's
# nurture sequences this many days (0: no pause); failed sends are retried after these seconds.
REP_EMAIL_FROM = env.str("REP_EMAIL_FROM", default="own")
REP_EMAIL_TEAM_FROM = env.str("REP_EMAIL_TEAM_FROM", default="")
REP_EMAIL_PAUSES_NURTURE_DAYS = env.int("REP_EMAIL_PAUSES_NURTURE_DAYS", default=7)
REP_EMAIL_RETRY_DELAYS = env.list("REP_EMAIL_RETRY_DELAYS", cast=float, default=[60.0, 300.0, 1800.0, 7200.0])
# Mail BCC'd or forwarded to this address (through the pipe or a monitored mailbox) is filed on the
# lead it was sent to, as the rep's outgoing message (e.g. log@crm.example.com; empty: off).
EMAIL_LOGGING_ADDRESS = env.str("EMAIL_LOGGING_ADDRESS", default="")

# --- I18N ---------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
# Languages offered (LocaleMiddleware picks one from the browser); dates and numbers follow it.
# Translations: `python manage.py makemessages -l de` writes locale/de/LC_MESSAGES/django.po (docs/workspace.md).
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_THOUSAND_SEPARATOR = False  # numbers are grouped where a template asks (intcomma), not in ids and URLs
USE_TZ = True

# --- Static files (whitenoise; third-party assets come from packages) ---------
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))  # shared storage in production
MEDIA_URL = "media/"
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str("STATICFILES_STORAGE", default="whitenoise.storage.CompressedManifestStaticFilesStorage")
    },
}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Email ----------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="LeadCRM <crm@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- REST API -------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first, so an anonymous request gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's token scheme, answered in one query that also reads the user's roles.
        "leads.api.tokens.OneQueryTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON through one validation at the edge (leads/common/safejson.py): depth, numbers, surrogates, NUL keys.
    "DEFAULT_PARSER_CLASSES": [
        "leads.common.safejson.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # DRF's JSON, encoded by orjson (a 500-lead page: 4.3 ms -> 0.3 ms); the browsable API as before.
    "DEFAULT_RENDERER_CLASSES": [
        "leads.common.safejson.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "leads.common.pagination.FastPageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"auth_token": env.str("AUTH_TOKEN_RATE", default="10/min")},
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    # Two choice sets are both called "kind" (timeline entries, inbound email): name them apart.
    "ENUM_NAME_OVERRIDES": {
        "InteractionKindEnum": "leads.models.core.Interaction.Kind",
        "InboundEmailKindEnum": "leads.models.channels.InboundEmail.Kind",
        "WebhookEventEnum": "leads.outbound.payloads.EVENT_CHOICES",
        "WebhookDeliveryStatusEnum": "leads.models.outbound.WebhookDelivery.Status",
    },
    "TITLE": "LeadCRM API",
    "DESCRIPTION": "Leads, their timeline and customers.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Every operation declares the 4xx it can answer (leads/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "leads.api.schema.declare_error_responses",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery -----------------------------------------------------------------------
# Without REDIS_URL, jobs go through kombu's filesystem transport under var/, so
# `make run` runs background and scheduled jobs with no server and drops none.
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Time out on a broker that accepts connections but does not answer, instead of hanging.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_timeout": 5, "socket_connect_timeout": 2}
else:
    _queue = VAR_DIR / "celery" / "queue"
    _processed = VAR_DIR / "celery" / "processed"
    for _p in (_queue, _processed):
        _p.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(_processed),
        "store_processed": False,
        # kombu keeps its broadcast (control) exchange here; by default it is ./control in the cwd.
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
CELERY_TASK_ACKS_LATE = True
# A worker retries a lost broker every 1–5 s (kombu alone backs off to 30 s): recovery in seconds.
CELERY_WORKER_CONSUMER = "leadcrm.worker:QuickReconnectConsumer"
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# Every worker's outbox relay polls for newly captured leads' jobs this often (leads/outbox_relay.py);
# 0 turns it off (the sweeper then sends them, PUBLISH_GRACE later).
OUTBOX_RELAY_SECONDS = env.float("OUTBOX_RELAY_SECONDS", default=0.2)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Default periodic jobs (leadcrm/schedule.py); beat copies them into django-celery-beat's tables,
# where managers can change or pause them in admin.
CELERY_BEAT_SCHEDULE = beat_schedule(outbox_sweep_seconds=env.float("OUTBOX_SWEEP_SECONDS", default=10.0))
# Automations: a failed step is retried after this many seconds × 4^(attempt-1) (60 s, 4 min, 16 min).
AUTOMATION_RETRY_SECONDS = env.int("AUTOMATION_RETRY_SECONDS", default=60)
# Publishing must never hang a web request when the broker is down.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}

# --- Enrichment -------------------------------------------------------------------
# The company-website provider fetches public home pages (SSRF-safe). On by default in
# production; `make test` turns it off, and its tests enable it against a local server.
ENRICHMENT_WEBSITE_ENABLED = env.bool("ENRICHMENT_WEBSITE_ENABLED", default=True)
# Hosts (host or host:port) the website fetcher may reach even though they are private/loopback:
# empty in production; tests put their local server here.
ENRICHMENT_WEBSITE_ALLOW = env.list("ENRICHMENT_WEBSITE_ALLOW", default=[])
# The optional paid enrichment API (Clearbit-style JSON over HTTP): off without a key.
ENRICHMENT_API_URL = env.str("ENRICHMENT_API_URL", default="")
ENRICHMENT_API_KEY = env.str("ENRICHMENT_API_KEY", default="")

# --- Inbound webhook providers (leads/capture/webhooks, docs/providers/) -----------------
# Meta Lead Ads reads each lead from the Graph API through the SSRF-safe fetcher; tests point the
# base at a local stub and list its host in META_GRAPH_ALLOW (empty in production).
META_GRAPH_BASE_URL = env.str("META_GRAPH_BASE_URL", default="https://graph.facebook.com")
META_GRAPH_VERSION = env.str("META_GRAPH_VERSION", default="v22.0")
META_GRAPH_ALLOW = env.list("META_GRAPH_ALLOW", default=[])

# --- Outbound webhooks (leads/outbound, docs/webhooks.md) -----------------------------
# Hosts (host or host:port) a webhook may be delivered to although they are internal
# (loopback, private): empty in production; tests and local setups put their receiver here.
OUTBOUND_WEBHOOK_ALLOWED_HOSTS = env.list("OUTBOUND_WEBHOOK_ALLOWED_HOSTS", default=[])
OUTBOUND_WEBHOOK_TIMEOUT = env.float("OUTBOUND_WEBHOOK_TIMEOUT", default=5.0)  # seconds, DNS to last byte read
OUTBOUND_WEBHOOK_MAX_RESPONSE_BYTES = env.int("OUTBOUND_WEBHOOK_MAX_RESPONSE_BYTES", default=64 * 1024)
# Seconds between attempts; empty = the default schedule (11 attempts over about a day).
OUTBOUND_WEBHOOK_RETRY_DELAYS = env.list("OUTBOUND_WEBHOOK_RETRY_DELAYS", cast=float, default=[])
# Delivered and failed deliveries older than this many days are purged nightly (pending ones never).
OUTBOUND_WEBHOOK_RETENTION_DAYS = env.int("OUTBOUND_WEBHOOK_RETENTION_DAYS", default=30)

# --- Privacy (leads/privacy, docs/privacy.md) ------------------------------------------
# Tombstones of erased people are keyed hashes of their address: set this before ever rotating
# SECRET_KEY (the key is derived from SECRET_KEY by default, and a new key forgets every tombstone).
PRIVACY_TOMBSTONE_KEY = env.str("PRIVACY_TOMBSTONE_KEY", default="")
# Days each kind of data is kept (0: for ever); the nightly purge removes what is older.
PRIVACY_RETAIN_CAPTURE_PAYLOAD_DAYS = env.int("PRIVACY_RETAIN_CAPTURE_PAYLOAD_DAYS", default=365)
PRIVACY_RETAIN_EMAIL_BODY_DAYS = env.int("PRIVACY_RETAIN_EMAIL_BODY_DAYS", default=730)
PRIVACY_RETAIN_TRACKING_DAYS = env.int("PRIVACY_RETAIN_TRACKING_DAYS", default=395)
PRIVACY_RETAIN_LOST_LEADS_DAYS = env.int("PRIVACY_RETAIN_LOST_LEADS_DAYS", default=1095)
PRIVACY_RETAIN_UNCONVERTED_LEADS_DAYS = env.int("PRIVACY_RETAIN_UNCONVERTED_LEADS_DAYS", default=0)

# --- Dashboards -------------------------------------------------------------------
# Each dashboard aggregate is cached this long (seconds) per visibility scope and filters; 0 = off.
DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", default=60)
# A bulk rescore works in id ranges of this size: one transaction and one Celery task each.
SCORING_RESCORE_CHUNK = env.int("SCORING_RESCORE_CHUNK", default=100_000)
# A bulk rescore still "running" after this long lost its worker: it is marked failed, and stops
# holding back the next one (1,000,000 leads take about 2 minutes).
SCORING_JOB_STALE_MINUTES = env.int("SCORING_JOB_STALE_MINUTES", default=60)

# --- Health and logs (docs/operations.md) -------------------------------------------
HEALTH_WORKER_PING_SECONDS = env.float("HEALTH_WORKER_PING_SECONDS", default=1.0)
# Beat sends the outbox sweep every OUTBOX_SWEEP_SECONDS; no sweep for this long means beat or the workers stopped.
HEALTH_BEAT_MAX_SECONDS = env.int("HEALTH_BEAT_MAX_SECONDS", default=90)
HEALTH_QUEUE_MAX = env.int("HEALTH_QUEUE_MAX", default=10_000)
HEALTH_OUTBOX_MAX = env.int("HEALTH_OUTBOX_MAX", default=1_000)

# Every log line carries the request id (`Correlation-ID`, taken from the request's header when
# a proxy set one, else new); a task enqueued by that request logs under the same id, so an
# operator follows one capture through the worker. LOG_FORMAT=json writes one JSON object a line.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "Correlation-ID",
    "VALIDATE_GUID": True,
    "RETURN_HEADER": True,
    "INTEGRATIONS": [CeleryIntegration(use_django_logging=True, log_parent=True)],
}
# The worker logs through this configuration too (not Celery's own root handler).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "client_errors_without_traceback": {"()": "leadcrm.logfilters.ClientErrorWithoutTraceback"},
        "correlation_id": {"()": "django_guid.log_filters.CorrelationId"},
        "celery_tracing": {"()": "django_guid.integrations.celery.log_filters.CeleryTracing"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": ["asctime", "levelname", "name", "message", "correlation_id", "process"],
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["client_errors_without_traceback", "correlation_id", "celery_tracing"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django's own "django" logger has a console handler of its own (with DEBUG) and also
    # propagated to ours: every 403 was written twice. It goes through the root's handler only.
    # django-guid says at INFO each time it sets an id: noise.
    "loggers": {
        "django": {"handlers": [], "level": env.str("LOG_LEVEL", default="INFO"), "propagate": True},
        "django_guid": {"level": "WARNING"},
    },
}
