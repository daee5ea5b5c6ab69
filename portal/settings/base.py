"""Settings shared by every environment. Values come from the environment (see .env.example)."""
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF

from portal.settings.env import env, env_bool, env_int, env_list

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

# --- Core -----------------------------------------------------------------------------------
SECRET_KEY = env("DJANGO_SECRET_KEY", required=True)
DEBUG = False
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
PORTAL_NAME = env("PORTAL_NAME", "ML Platform Portal")
PORTAL_BASE_URL = env("PORTAL_BASE_URL", "http://127.0.0.1:8000")   # for links in e-mails
# Key for secrets the portal must read back (portal/crypto.py); unset: derived from SECRET_KEY.
PORTAL_ENCRYPTION_KEY = env("PORTAL_ENCRYPTION_KEY", "")
# The apps whose pages (<app>.urls) and API (<app>.api.register_api) portal.urls mounts.
PORTAL_APPS = ["provisioning", "provisioning.accounts", "governance", "governance.cards", "costs", "observability"]
PORTAL_ENVIRONMENT = "base"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    "axes",
    "csp",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "portal",
    "provisioning",
    "provisioning.accounts",
    "governance",
    "governance.cards",
    "costs",
    "observability",
]

MIDDLEWARE = [
    "portal.middleware.ResponseHeadersMiddleware",
    "portal.middleware.HealthzMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.RequestContextMiddleware",
    "portal.middleware.NulQueryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [BASE_DIR / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
        "csp.context_processors.nonce",
        "portal.context_processors.portal",
    ]},
}]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL (PostgreSQL in production); the embedded default is a SQLite file that the web,
# worker and beat processes share (WAL mode, immediate transactions so writers queue, not fail).
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "portal.sqlite3",
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                    "transaction_mode": "IMMEDIATE", "timeout": 20},
    }}

# --- Authentication (django-allauth, django-axes) ---------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_ADAPTER = "portal.auth.PortalAccountAdapter"   # no self sign-up: admins create users
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_RATE_LIMITS = {"login_failed": False}           # lockout is django-axes' job (per user + IP)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = PORTAL_NAME
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True            # the IdP is trusted: match users by e-mail
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_ADAPTER = "portal.auth.PortalSocialAccountAdapter"

# Brute force: lock out one (username, IP) pair, so nobody can lock a victim out from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "account/lockout.html"
AXES_USERNAME_CALLABLE = "portal.auth.attempted_username"
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "portal.middleware.client_ip"   # the same client address the audit log records

# SSO: OpenID Connect or SAML (e.g. IAM Identity Center), configured by environment only.
SOCIALACCOUNT_PROVIDERS: dict = {}
if env("SSO_OIDC_SERVER_URL"):
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {"APPS": [{
        "provider_id": "sso", "name": env("SSO_DISPLAY_NAME", "Single sign-on"),
        "client_id": env("SSO_OIDC_CLIENT_ID", required=True),
        "secret": env("SSO_OIDC_CLIENT_SECRET", required=True),
        "settings": {"server_url": env("SSO_OIDC_SERVER_URL")},
    }]}
if env("SSO_SAML_IDP_METADATA_URL"):
    SOCIALACCOUNT_PROVIDERS["saml"] = {"APPS": [{
        "provider_id": "sso", "client_id": "sso", "name": env("SSO_DISPLAY_NAME", "Single sign-on"),
        "settings": {
            "attribute_mapping": {"uid": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
                                  "email": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"},
            "idp": {"entity_id": env("SSO_SAML_IDP_ENTITY_ID", required=True),
                    "metadata_url": env("SSO_SAML_IDP_METADATA_URL")},
        },
    }]}

# --- Sessions and security headers ------------------------------------------------------------
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30) * 60      # idle timeout
SESSION_SAVE_EVERY_REQUEST = True
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_HOURS", 12) * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Browser features no page of the portal uses, switched off for every response (and any frame).
PERMISSIONS_POLICY = ("accelerometer=(), autoplay=(), browsing-topics=(), camera=(), display-capture=(), "
                      "geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), "
                      "screen-wake-lock=(), usb=(), xr-spatial-tracking=()")
CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
    "default-src": [SELF],
    "script-src": [SELF, NONCE],
    "style-src": [SELF],
    "img-src": [SELF, "data:"],
    "font-src": [SELF],
    "connect-src": [SELF],
    "object-src": [NONE],
    "base-uri": [SELF],
    "frame-ancestors": [NONE],
    "form-action": [SELF],
}}

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
if env("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "ml-platform-portal@localhost")

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api_auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.permissions.DenyByDefault"],
    "DEFAULT_PAGINATION_CLASS": "portal.pagination.Pagination",
    "DEFAULT_FILTER_BACKENDS": [
        "portal.filters.FilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "portal.api_schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "portal.api_base.exception_handler",
    "DEFAULT_PARSER_CLASSES": ["portal.parsers.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer",
                                 "rest_framework.renderers.BrowsableAPIRenderer"],
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": f"{PORTAL_NAME} API",
    "DESCRIPTION": "Self-service ML platform on AWS: teams, provisioning, model governance, costs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Bodies are documented as JSON, the API's contract; forms are parsed too, for the browsable API.
    "PARSER_WHITELIST": ["portal.parsers.JSONParser"],
    "SWAGGER_UI_DIST": "SIDECAR",          # served by the portal itself: no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Distinct names for choice sets that share a field name across apps.
    "ENUM_NAME_OVERRIDES": {
        "EnvironmentEnum": "portal.models.Environment",
        "VendingEnvironmentEnum": "provisioning.accounts.models.VENDING_ENVIRONMENTS",
        # Model-version decisions and account-request approvals share approve/reject.
        "DecisionEnum": "governance.models.Decision",
        "DeploymentEnvironmentEnum": [("test", "Test"), ("prod", "Production")],
        "ModelStageEnum": "governance.models.Stage",
        "DecisionStageEnum": "governance.models.DecisionStage",
        "DeploymentStatusEnum": "governance.models.DeploymentStatus",
        "CardStatusEnum": "governance.cards.models.CardStatus",
        "ShareStatusEnum": "governance.cards.models.ShareStatus",
        "ExportStatusEnum": "governance.cards.models.ExportStatus",
        "CostSyncStatusEnum": "costs.models.CostSyncRun.Status",
        "WebhookDeliveryStateEnum": "portal.models.WebhookDelivery.State",
    },
}
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 365)
IDEMPOTENCY_KEY_TTL_HOURS = 24
IDEMPOTENCY_ABANDONED_MINUTES = 5   # an unfinished first request older than this is taken over

# --- Outbound webhooks (portal/webhooks.py, docs/webhooks.md) ------------------------------------
PORTAL_WEBHOOK_CONNECT_TIMEOUT = env_int("PORTAL_WEBHOOK_CONNECT_TIMEOUT", 5)     # seconds
PORTAL_WEBHOOK_READ_TIMEOUT = env_int("PORTAL_WEBHOOK_READ_TIMEOUT", 10)          # seconds
PORTAL_WEBHOOK_MAX_ATTEMPTS = env_int("PORTAL_WEBHOOK_MAX_ATTEMPTS", 8)
# Approvals inbox: remind the deciders of an item waiting this long, then escalate it to the line
# of business's executives, then to the platform admins (each once per wait; portal.approval_nudges).
APPROVAL_REMINDER_HOURS = env_int("APPROVAL_REMINDER_HOURS", 48)
APPROVAL_ESCALATION_LOB_HOURS = env_int("APPROVAL_ESCALATION_LOB_HOURS", 96)
APPROVAL_ESCALATION_ADMIN_HOURS = env_int("APPROVAL_ESCALATION_ADMIN_HOURS", 168)
PORTAL_WEBHOOK_BACKOFF_SECONDS = env_int("PORTAL_WEBHOOK_BACKOFF_SECONDS", 30)    # first retry; doubles
PORTAL_WEBHOOK_BACKOFF_MAX_SECONDS = env_int("PORTAL_WEBHOOK_BACKOFF_MAX_SECONDS", 3600)
# Receivers on loopback (http://127.0.0.1, http://localhost): for development and tests only.
PORTAL_WEBHOOK_ALLOW_LOOPBACK = env_bool("PORTAL_WEBHOOK_ALLOW_LOOPBACK", False)
# Non-public networks webhooks may reach (internal receivers), as CIDRs; everything else not global is refused.
PORTAL_WEBHOOK_ALLOWED_NETWORKS = env_list("PORTAL_WEBHOOK_ALLOWED_NETWORKS")

# --- Celery (DESIGN.md §4) --------------------------------------------------------------------
# CELERY_BROKER_URL (Redis in production); the embedded default is a broker in files under var/
# that separate worker and beat processes consume (a real multi-process setup, not eager tasks).
CELERY_BROKER_URL = env("CELERY_BROKER_URL") or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 3600}   # longer than any task or countdown
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"), "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"), "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- AWS (DESIGN.md §3) -----------------------------------------------------------------------
# AWS_ENDPOINT_URL points every client at the sandbox; unset it (and provide credentials the
# usual boto3 way: instance role, SSO profile, environment) to talk to real AWS.
AWS_ENDPOINT_URL = env("AWS_ENDPOINT_URL")
AWS_REGION = env("AWS_REGION", "us-east-1")
AWS_MEMBER_ROLE_NAME = env("AWS_MEMBER_ROLE_NAME", "PortalExecutionRole")
AWS_ROLE_EXTERNAL_ID = env("AWS_ROLE_EXTERNAL_ID")
AWS_CONNECT_TIMEOUT = env_int("AWS_CONNECT_TIMEOUT", 5)
AWS_READ_TIMEOUT = env_int("AWS_READ_TIMEOUT", 30)
AWS_MAX_ATTEMPTS = env_int("AWS_MAX_ATTEMPTS", 5)
AWS_CLIENT_INSTRUMENT = None   # dotted path of fn(client) called on every new client (tests)

# --- Audit checkpoints (portal/audit_anchor.py, README "What the audit log guarantees") -----------
# Signing key of the checkpoints; keep it outside the database. Unset: derived from DJANGO_SECRET_KEY.
AUDIT_CHECKPOINT_KEY = env("AUDIT_CHECKPOINT_KEY", "")
# S3 bucket with Object Lock (COMPLIANCE) for the checkpoints; unset: the append-only file below.
AUDIT_CHECKPOINT_BUCKET = env("AUDIT_CHECKPOINT_BUCKET", "")
AUDIT_CHECKPOINT_ACCOUNT_ID = env("AUDIT_CHECKPOINT_ACCOUNT_ID", "")   # the log-archive account; unset: hub
AUDIT_CHECKPOINT_PREFIX = env("AUDIT_CHECKPOINT_PREFIX", "portal-audit-checkpoints/")
AUDIT_CHECKPOINT_RETENTION_DAYS = env_int("AUDIT_CHECKPOINT_RETENTION_DAYS", 2557)   # 7 years
AUDIT_CHECKPOINT_FILE = env("AUDIT_CHECKPOINT_FILE", str(VAR_DIR / "audit-checkpoints.jsonl"))
AUDIT_CHECKPOINT_SECONDS = env_int("AUDIT_CHECKPOINT_SECONDS", 300)   # how often beat anchors the chain
AUDIT_CHECKPOINT_MAX_EVENTS = 10000    # events per checkpoint (each adds 16 characters to it)

# --- Account vending (provisioning.accounts) ----------------------------------------------------
ACCOUNT_VENDING_PATH = env("ACCOUNT_VENDING_PATH", "organizations")   # or "control_tower"
ACCOUNT_MAX_IN_FLIGHT = env_int("ACCOUNT_MAX_IN_FLIGHT", 5)           # AWS allows 5 concurrent account operations
ACCOUNT_EMAIL_PATTERN = env("ACCOUNT_EMAIL_PATTERN", "aws+{team}-{env}@example.com")
# Monthly budgets (USD) above this need a second platform admin's approval (docs/decisions.md).
ACCOUNT_VENDING_SECOND_APPROVAL_BUDGET_USD = env_int("ACCOUNT_VENDING_SECOND_APPROVAL_BUDGET_USD", 10000)
# Service Catalog product names provisioned into every new account while baselining (none: tag and link only).
ACCOUNT_BASELINE_PRODUCTS = env_list("ACCOUNT_BASELINE_PRODUCTS")
# How long a worker's claim on a request's AWS steps lasts before the dispatcher steps it again
# (a lost worker); longer than one step's AWS calls with botocore's retries.
ACCOUNT_STEP_CLAIM_SECONDS = env_int("ACCOUNT_STEP_CLAIM_SECONDS", 900)

# --- Provisioning -------------------------------------------------------------------------------
# In-flight requests whose last step is older than this are re-enqueued by the reconciler.
PROVISIONING_STALE_SECONDS = env_int("PROVISIONING_STALE_SECONDS", 600)

# --- Activity view (observability): CloudTrail events synced into the database -------------------
ACTIVITY_SYNC_SECONDS = env_int("ACTIVITY_SYNC_SECONDS", 300)                 # how often beat syncs
ACTIVITY_MAX_LOOKUPS_PER_ACCOUNT = env_int("ACTIVITY_MAX_LOOKUPS_PER_ACCOUNT", 10)   # per account per run
ACTIVITY_LOOKUPS_PER_SECOND = float(env("ACTIVITY_LOOKUPS_PER_SECOND", "2"))  # CloudTrail's limit per account
ACTIVITY_OVERLAP_SECONDS = env_int("ACTIVITY_OVERLAP_SECONDS", 900)           # re-read for late deliveries
ACTIVITY_INITIAL_DAYS = env_int("ACTIVITY_INITIAL_DAYS", 90)                  # first sync: all CloudTrail keeps
ACTIVITY_RETENTION_DAYS = env_int("ACTIVITY_RETENTION_DAYS", 400)             # older events are purged daily
ACTIVITY_LEASE_SECONDS = env_int("ACTIVITY_LEASE_SECONDS", 900)               # a crashed run's accounts free up

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"client_errors_without_traceback": {"()": "portal.log.ClientErrorsWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["client_errors_without_traceback"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"botocore": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}, "axes": {"level": "WARNING"},
                # Django's own console handler (DEBUG only) would print each of its records a second time.
                "django": {"handlers": [], "level": "INFO", "propagate": True}},
}
if CELERY_BROKER_URL.startswith("filesystem://"):   # kombu warns that the URL names no host; this broker needs none
    LOGGING["loggers"]["kombu.connection"] = {"level": "ERROR"}

# The beat schedule, in one place for every app (task names are "<app>.<service>").
CELERY_BEAT_SCHEDULE = {
    "portal.heartbeat": {"task": "portal.heartbeat", "schedule": 30.0},
    "portal.idempotency_purge": {"task": "portal.idempotency_purge", "schedule": 3600.0},
    "portal.webhook_requeue": {"task": "portal.webhook_requeue", "schedule": 60.0},
    "portal.approval_nudges": {"task": "portal.approval_nudges", "schedule": 3600.0},
    "portal.audit_checkpoint": {"task": "portal.audit_checkpoint", "schedule": float(AUDIT_CHECKPOINT_SECONDS)},
    "governance.registry_sync": {"task": "governance.registry_sync", "schedule": 300.0},
    "governance.reconcile": {"task": "governance.reconcile", "schedule": 300.0},
    "governance.approval_reminders": {"task": "governance.approval_reminders", "schedule": 3600.0},
    "provisioning.catalog_sync": {"task": "provisioning.catalog_sync", "schedule": 3600.0},
    "provisioning.reconcile": {"task": "provisioning.reconcile", "schedule": 300.0},
    "provisioning.expiry_check": {"task": "provisioning.expiry_check", "schedule": 3600.0},
    "account_vending.dispatch_queue": {"task": "account_vending.dispatch_queue", "schedule": 60.0},
    "account_vending.lease_check": {"task": "account_vending.lease_check", "schedule": 6 * 3600.0},
    "costs.cost_sync_window": {"task": "costs.cost_sync_window", "schedule": 6 * 3600.0},
    "costs.usage_sync": {"task": "costs.usage_sync", "schedule": 6 * 3600.0},
    "costs.cost_digest_send": {"task": "costs.cost_digest_send", "schedule": 6 * 3600.0},  # once a week per user
    "model_cards.sync": {"task": "model_cards.sync", "schedule": 600.0},
    "observability.activity_sync": {"task": "observability.activity_sync", "schedule": float(ACTIVITY_SYNC_SECONDS)},
    "observability.activity_purge": {"task": "observability.activity_purge", "schedule": 24 * 3600.0},
}
AXES_VERBOSE = False
