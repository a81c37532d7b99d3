"""CadreConnect settings: one module, driven by the environment.

Every value a deployment may change is read from the environment (see `.env.example`).
The defaults give a development setup that needs no server: SQLite in `var/` and Celery's
filesystem broker. Set `DATABASE_URL` and `CELERY_BROKER_URL` for PostgreSQL and Redis.
"""

from __future__ import annotations

from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CADRECONNECT_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, *, default: bool) -> bool:
    """A yes/no setting; anything but a clear yes or no stops start-up (a typo is not "no")."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a yes/no value: use one of true, false, 1, 0, yes, no, on, off."
    )


def env_int_between(name: str, *, default: int, low: int, high: int) -> int:
    """A whole number within bounds; anything else stops start-up."""
    value = env.int(name, default=default)
    if not low <= value <= high:
        raise ImproperlyConfigured(f"{name}={value} is out of range: use {low} to {high}.")
    return value


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. In production set SECRET_KEY to a long random string "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(50))'); "
            "for local development set DEBUG=true instead."
        )
    # Development only: DEBUG is on, so this key never signs a production session.
    SECRET_KEY = "development-only-insecure-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is empty. In production list the host names the portal is served under, "
        "comma-separated (for example: ALLOWED_HOSTS=cadre.example.org)."
    )
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
    "mptt",
    "django_htmx",
    "csp",
    "allauth",
    "accounts.allauth_apps.SignInAddressesConfig",  # allauth.account, renamed in the admin
    "cadreconnect",
    "accounts",
    "groups",
    "members",
    "content",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "cadreconnect.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # 400 for NUL bytes and other control characters in query strings and form data.
    "cadreconnect.middleware.ControlCharactersMiddleware",
    # Every page needs a signed-in user unless its view is marked @login_not_required.
    "cadreconnect.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Member pages and exports hold personal data: no copy in any cache (see NO_STORE_VIEWS).
    "cadreconnect.middleware.NoStoreMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "cadreconnect.urls"
WSGI_APPLICATION = "cadreconnect.wsgi.application"
ASGI_APPLICATION = "cadreconnect.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cadreconnect.permissions.permissions_context",
                "content.context_processors.content_awaiting",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'cadreconnect.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # The web server, the worker and beat write to the same file: wait for locks instead
        # of failing, take the write lock up front, and let readers run beside a writer.
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that a worker process started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-cadreconnect.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})
    # Fail fast when the server is unreachable (the health check answers 503 within seconds).
    DATABASES["default"]["OPTIONS"].setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts -------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "accounts.adapter.StaffAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
# Staff accounts are created by administrators with known addresses.
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[CadreConnect] "
# Sign-in and password-reset limits (allauth's defaults: 10 failed sign-ins a minute per
# address, 5 per account in 5 minutes), counted in the shared cache (see CACHES).
# The client's address is REMOTE_ADDR unless the deployment says how many proxies in front of
# the portal append to X-Forwarded-For (or names a header its proxy sets): trusting the header
# by default would let anyone dodge the limits by sending a new X-Forwarded-For each time.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if ALLAUTH_TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(
        f"TRUSTED_PROXY_COUNT={ALLAUTH_TRUSTED_PROXY_COUNT} is negative: give the number of "
        "proxies in front of the portal that append to X-Forwarded-For (0 when none)."
    )
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env.str("TRUSTED_CLIENT_IP_HEADER", default="") or None
# A password reset for an unknown address sends nothing: the form must not become a way to
# mail strangers, nor tell who has an account.
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False

# --- Internationalisation -------------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("hi", _("Hindi")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Kolkata")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files need `collectstatic`; development serves from the apps.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"

# --- Content media (content.media) ----------------------------------------------------------

# Largest file a content item of each kind may carry, in bytes. The defaults are the largest
# that any channel sends (Telegram: photos 10 MB, other files 50 MB; WhatsApp: documents
# 100 MB); the editor shows per channel whether a file fits. The web server in front must take
# request bodies of the largest of these (nginx: client_max_body_size).
CONTENT_MEDIA_MAX_BYTES = {
    "image": env_int_between("CONTENT_IMAGE_MAX_BYTES", default=10_000_000, low=1024, high=1 << 30),
    "video": env_int_between("CONTENT_VIDEO_MAX_BYTES", default=50_000_000, low=1024, high=1 << 34),
    "document": env_int_between(
        "CONTENT_DOCUMENT_MAX_BYTES", default=100_000_000, low=1024, high=1 << 34
    ),
}
# Images larger than this in pixels are refused from their header, before any pixel is
# decoded (a "decompression bomb" packs gigapixels into kilobytes). Making a thumbnail of the
# largest PNG taken holds it decoded for a moment: 40 megapixels is 160 MB. At most Pillow's
# own limit (Image.MAX_IMAGE_PIXELS, 89 megapixels), past which Pillow warns.
CONTENT_IMAGE_MAX_PIXELS = env_int_between(
    "CONTENT_IMAGE_MAX_PIXELS", default=40_000_000, low=10_000, high=89_478_485
)
CONTENT_IMAGE_MAX_SIDE = env_int_between(
    "CONTENT_IMAGE_MAX_SIDE", default=20_000, low=100, high=65_535
)
# The longest side of an image's thumbnail, in pixels.
CONTENT_THUMBNAIL_SIZE = env_int_between("CONTENT_THUMBNAIL_SIZE", default=480, low=32, high=2048)

# Where content files and thumbnails are kept: local disk under MEDIA_ROOT by default, or an
# S3-compatible bucket when CONTENT_MEDIA_S3_BUCKET is set (install django-storages[s3];
# credentials come the way boto3 finds them: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or
# the host's role). The bucket stays private: files are served by the portal, which checks the
# reader's scope (content.media.media_response). A store of its own, not "default": member
# imports read their uploads from local disk.
CONTENT_MEDIA_S3_BUCKET = env.str("CONTENT_MEDIA_S3_BUCKET", default="")
if CONTENT_MEDIA_S3_BUCKET:
    import importlib.util

    if importlib.util.find_spec("storages") is None:
        raise ImproperlyConfigured(
            "CONTENT_MEDIA_S3_BUCKET is set but django-storages is not installed: "
            "pip install 'django-storages[s3]==1.14.6', or unset CONTENT_MEDIA_S3_BUCKET to "
            "keep content files on local disk."
        )
    STORAGES["content_media"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": CONTENT_MEDIA_S3_BUCKET,
            "endpoint_url": env.str("CONTENT_MEDIA_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("CONTENT_MEDIA_S3_REGION", default="") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    STORAGES["content_media"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }

# The youngest a member may be, in years (the birth year check; the oldest is 120).
MEMBER_MIN_AGE = env.int("MEMBER_MIN_AGE", default=18)
if not 0 <= MEMBER_MIN_AGE < 120:
    raise ImproperlyConfigured(f"MEMBER_MIN_AGE={MEMBER_MIN_AGE} is not an age from 0 to 119.")

# Largest member list (CSV or XLSX) staff may upload, in bytes.
MEMBER_IMPORT_MAX_BYTES = env.int("MEMBER_IMPORT_MAX_BYTES", default=200 * 1024 * 1024)
# Rows per transaction, and (PostgreSQL only) how many threads write batches while the next
# ones are read: each holds a database connection while an import runs.
MEMBER_IMPORT_BATCH_SIZE = env.int("MEMBER_IMPORT_BATCH_SIZE", default=5000)
MEMBER_IMPORT_WRITERS = env.int("MEMBER_IMPORT_WRITERS", default=2)
# A running import's task writes a sign of life this often; one silent for
# MEMBER_IMPORT_STALE_SECONDS (its worker died) is taken over by the next delivery of its
# message, which beat sends every MEMBER_IMPORT_RESUME_SECONDS: resumed within
# stale + resume seconds (3 minutes by default), long before the broker's visibility timeout.
MEMBER_IMPORT_HEARTBEAT_SECONDS = env.float("MEMBER_IMPORT_HEARTBEAT_SECONDS", default=15.0)
MEMBER_IMPORT_STALE_SECONDS = env.float("MEMBER_IMPORT_STALE_SECONDS", default=120.0)
MEMBER_IMPORT_RESUME_SECONDS = env.float("MEMBER_IMPORT_RESUME_SECONDS", default=60.0)
if not 0 < MEMBER_IMPORT_HEARTBEAT_SECONDS * 3 <= MEMBER_IMPORT_STALE_SECONDS:
    raise ImproperlyConfigured(
        "MEMBER_IMPORT_STALE_SECONDS must be at least three MEMBER_IMPORT_HEARTBEAT_SECONDS, "
        "or a live import would be taken over."
    )
# An import whose worker died this many times in a row is failed instead of taken over again.
MEMBER_IMPORT_MAX_RESUMES = env.int("MEMBER_IMPORT_MAX_RESUMES", default=5)
# Seconds an import waits after each batch (0: none): throttles imports on a busy database.
MEMBER_IMPORT_BATCH_PAUSE = env.float("MEMBER_IMPORT_BATCH_PAUSE", default=0.0)
# Beat's catch-up rounds: trees whose figures are marked stale are recounted this often (a
# recount whose message was lost, the broker down when a member was saved), and mails not sent
# are sent to the workers again this long after their last message.
GROUP_FIGURES_CATCH_UP_SECONDS = env.float("GROUP_FIGURES_CATCH_UP_SECONDS", default=60.0)
MAIL_RESEND_SECONDS = env.float("MAIL_RESEND_SECONDS", default=60.0)
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=60.0)


# What an uploaded member list may hold, checked by the worker as it reads (never trusting
# what the file says about itself): data rows, columns (the wizard shows one choice per
# column: a few hundred at most), characters in a cell (a longer one is a row problem); for
# .xlsx files, the real unpacked bytes of the sheet and of its shared strings (which are held
# in memory while the sheet is read) and how many times the unpacked data may outgrow the
# packed (a zip bomb packs a gigabyte into a few megabytes; real sheets pack 5 to 20 times).
MEMBER_IMPORT_MAX_ROWS = env_int_between(
    "MEMBER_IMPORT_MAX_ROWS", default=1_048_576, low=1, high=100_000_000
)
MEMBER_IMPORT_MAX_COLUMNS = env_int_between(
    "MEMBER_IMPORT_MAX_COLUMNS", default=200, low=3, high=500
)
MEMBER_IMPORT_MAX_CELL_CHARS = env_int_between(
    "MEMBER_IMPORT_MAX_CELL_CHARS", default=1000, low=200, high=100_000
)
MEMBER_IMPORT_XLSX_MAX_SHEET_BYTES = env_int_between(
    "MEMBER_IMPORT_XLSX_MAX_SHEET_BYTES", default=512 * 1024 * 1024, low=1024, high=1 << 40
)
MEMBER_IMPORT_XLSX_MAX_SHARED_STRINGS_BYTES = env_int_between(
    "MEMBER_IMPORT_XLSX_MAX_SHARED_STRINGS_BYTES",
    default=64 * 1024 * 1024,
    low=1024,
    high=(1 << 32) - 1,  # offsets into the texts are 32-bit
)
MEMBER_IMPORT_XLSX_MAX_RATIO = env_int_between(
    "MEMBER_IMPORT_XLSX_MAX_RATIO", default=100, low=2, high=100_000
)

# A delimitation's mapping file (groups.delimitation): its largest size in bytes and rows (a
# booth-level order for the whole country is about a million rows, 60 MB), and seconds the
# run waits after each state (0: none; a pause lets an operator, or a test, stop it between).
GROUP_DELIMIT_MAX_BYTES = env_int_between(
    "GROUP_DELIMIT_MAX_BYTES", default=128 * 1024 * 1024, low=1024, high=1 << 34
)
GROUP_DELIMIT_MAX_ROWS = env_int_between(
    "GROUP_DELIMIT_MAX_ROWS", default=2_000_000, low=1, high=100_000_000
)
GROUP_DELIMIT_STEP_PAUSE = env.float("GROUP_DELIMIT_STEP_PAUSE", default=0.0)
# Beat's round sends again the page's dry runs left without a worker (a lost message, a dead
# worker: groups.delimitation.office.delimitation_checks_resume).
GROUP_DELIMIT_CHECK_RESUME_SECONDS = env.float("GROUP_DELIMIT_CHECK_RESUME_SECONDS", default=60.0)

# --- Content (content/) -----------------------------------------------------------------

# The languages campaign material is written in: the portal's own two and the other
# scheduled languages of the Constitution (ISO 639 codes; three letters where there are no two).
CONTENT_LANGUAGES = [
    ("hi", _("Hindi")),
    ("en", _("English")),
    ("as", _("Assamese")),
    ("bn", _("Bengali")),
    ("brx", _("Bodo")),
    ("doi", _("Dogri")),
    ("gu", _("Gujarati")),
    ("kn", _("Kannada")),
    ("ks", _("Kashmiri")),
    ("kok", _("Konkani")),
    ("mai", _("Maithili")),
    ("ml", _("Malayalam")),
    ("mni", _("Manipuri")),
    ("mr", _("Marathi")),
    ("ne", _("Nepali")),
    ("or", _("Odia")),
    ("pa", _("Punjabi")),
    ("sa", _("Sanskrit")),
    ("sat", _("Santali")),
    ("sd", _("Sindhi")),
    ("ta", _("Tamil")),
    ("te", _("Telugu")),
    ("ur", _("Urdu")),
]
# The values of groups.models.Kind (settings cannot import models); a test keeps them equal.
GROUP_KIND_VALUES = {
    "national": 10, "state": 20, "zone": 30, "district": 40, "parliamentary": 50,
    "assembly": 60, "mandal": 70, "booth": 80,
}  # fmt: skip
# Each target of content needs the approval of a lead or approver at a node of this kind or
# above (district: a booth's target is approved by its district's lead or anyone above).
_approval_kind = env.str("CONTENT_APPROVAL_MIN_KIND", default="district").strip().lower()
if _approval_kind not in GROUP_KIND_VALUES:
    raise ImproperlyConfigured(
        f"CONTENT_APPROVAL_MIN_KIND={_approval_kind!r} is not a level: use one of "
        + ", ".join(GROUP_KIND_VALUES)
    )
CONTENT_APPROVAL_MIN_KIND = GROUP_KIND_VALUES[_approval_kind]
# Longest body of one language variant, in characters (WhatsApp's and Telegram's text limit).
# How often beat releases scheduled content that is due and closes expired content.
CONTENT_ROUND_SECONDS = env.float("CONTENT_ROUND_SECONDS", default=60.0)
CONTENT_BODY_MAX_CHARS = env_int_between(
    "CONTENT_BODY_MAX_CHARS", default=4096, low=160, high=65_536
)
# Approvers are reminded of content in review for longer than this (seconds; a day), once per
# such interval of its wait; beat looks for it every CONTENT_REMIND_ROUND_SECONDS.
CONTENT_REMIND_AFTER = env_int_between(
    "CONTENT_REMIND_AFTER", default=24 * 60 * 60, low=60, high=365 * 24 * 60 * 60
)
CONTENT_REMIND_ROUND_SECONDS = env.float("CONTENT_REMIND_ROUND_SECONDS", default=15 * 60.0)
# The menu's count of content awaiting a lead is kept this long in the cache (0: counted on
# every page).
CONTENT_AWAITING_CACHE_SECONDS = env.int("CONTENT_AWAITING_CACHE_SECONDS", default=60)

# --- E-mail ---------------------------------------------------------------------------------

EMAIL_CONFIG = env.email_url(
    "EMAIL_URL",
    default="consolemail://" if DEBUG else "smtp://localhost:25",
)
globals().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CadreConnect <noreply@localhost>")
# The portal's address as its mails link to it (a task has no request to ask).
PORTAL_URL = env.str(
    "PORTAL_URL",
    default="http://127.0.0.1:8000"
    if DEBUG or not ALLOWED_HOSTS
    else f"https://{ALLOWED_HOSTS[0]}",
)
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# --- Security -------------------------------------------------------------------------------

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers probe the health check over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if env_bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
# HSTS: browsers that once saw the portal over HTTPS refuse plain HTTP for a year, on every
# subdomain too, and the host may be put on the browsers' preload list. On by default in
# production so that a deployment cannot forget it; development serves plain HTTP.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content security policy (django-csp): every script, style, image, font and request from this
# site only, served by whitenoise; no inline script, no on...= attribute and no style attribute
# in any page (templates mark elements with data- attributes, static/js/portal.js acts on them).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Browser features no page of the portal uses are turned off for it and anything it embeds.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}
# Pages answered with "Cache-Control: no-store" (no copy in the browser, a proxy or the back
# button's cache): every view of these URL namespaces, and these named views.
NO_STORE_NAMESPACES = ["members"]
NO_STORE_VIEWS = ["groups:export"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)

# --- Caches ---------------------------------------------------------------------------------

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
# Sign-in and password-reset limits are counted in this cache: in a per-process cache every
# web worker counts apart (five workers let five times as many guesses through) and a restart
# forgets them.
_PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}
if not DEBUG and CACHES["default"]["BACKEND"] in _PER_PROCESS_CACHES:
    raise ImproperlyConfigured(
        "CACHE_URL is not set to a shared cache. In production set CACHE_URL to a Redis "
        "database (for example: CACHE_URL=redis://redis:6379/1): sign-in limits are counted "
        "there; a per-process memory cache would let every web worker count apart, and the "
        "dummy cache counts nothing."
    )

# --- Celery ---------------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: a queue is a folder, so no broker server is needed.
    _broker_dir = Path(env.str("CELERY_FILESYSTEM_DIR", default=str(VAR_DIR / "broker")))
    for _folder in ("queue", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A message that is not acknowledged within this time is delivered again. With late
        # acknowledgement that means: longer than the longest task time limit (the member
        # import's, 4 h 5 min); the worker and manage.py refuse to start otherwise
        # (cadreconnect.celery.redelivery_problem).
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=5 * 60 * 60),
        "socket_connect_timeout": 5,
        "socket_timeout": 30,
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Acknowledge after the task ran, and give the message back if the worker dies mid-task:
# tasks are written to be idempotent, so running one twice is safe; losing one is not.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=30 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=35 * 60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "cadreconnect.tasks.worker_heartbeat",
        "schedule": WORKER_HEARTBEAT_SECONDS,
        "options": {"expires": WORKER_HEARTBEAT_SECONDS},
    },
    # Imports whose worker died (or whose message the broker lost) are taken over.
    "member-imports-resume": {
        "task": "members.tasks.member_imports_resume",
        "schedule": MEMBER_IMPORT_RESUME_SECONDS,
        "options": {"expires": MEMBER_IMPORT_RESUME_SECONDS},
    },
    # Trees marked stale whose recount was lost or skipped; mails whose message was lost. A
    # round's message that waits longer than its period (no worker up) is dropped, as are the
    # heartbeat's and the resume round's: the next round does the same work.
    "group-figures-refresh-stale": {
        "task": "groups.tasks.group_figures_refresh_stale",
        "schedule": GROUP_FIGURES_CATCH_UP_SECONDS,
        "options": {"expires": GROUP_FIGURES_CATCH_UP_SECONDS},
    },
    "delimitation-checks-resume": {
        "task": "groups.tasks.delimitation_checks_resume",
        "schedule": GROUP_DELIMIT_CHECK_RESUME_SECONDS,
        "options": {"expires": GROUP_DELIMIT_CHECK_RESUME_SECONDS},
    },
    "mails-resend": {
        "task": "accounts.tasks.mails_resend",
        "schedule": MAIL_RESEND_SECONDS,
        "options": {"expires": MAIL_RESEND_SECONDS},
    },
    # Content: scheduled content is released at its send-at time, and content past its
    # expiry is closed, within CONTENT_ROUND_SECONDS.
    "content-expire-due": {
        "task": "content.tasks.content_expire_due",
        "schedule": CONTENT_ROUND_SECONDS,
        "options": {"expires": CONTENT_ROUND_SECONDS},
    },
    "content-release-due": {
        "task": "content.tasks.content_release_due",
        "schedule": CONTENT_ROUND_SECONDS,
        "options": {"expires": CONTENT_ROUND_SECONDS},
    },
    # Content's mails whose message was lost; reminders of content waiting long.
    "content-notices-resend": {
        "task": "content.tasks.content_notices_resend",
        "schedule": MAIL_RESEND_SECONDS,
        "options": {"expires": MAIL_RESEND_SECONDS},
    },
    "content-reminders-send": {
        "task": "content.tasks.content_reminders_send",
        "schedule": CONTENT_REMIND_ROUND_SECONDS,
        "options": {"expires": CONTENT_REMIND_ROUND_SECONDS},
    },
    # Figures are recounted after every tree change; this catches anything that slipped by
    # (a change that marked no tree, the rows written by hand).
    "group-figures-refresh-all": {
        "task": "groups.tasks.group_figures_refresh_all",
        "schedule": env.float("GROUP_FIGURES_REFRESH_SECONDS", default=6 * 60 * 60.0),
    },
}

# --- REST framework -------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # {"detail": ..., "code": ...} for every error, service refusals included.
    "EXCEPTION_HANDLER": "cadreconnect.exceptions.api_exception_handler",
    # JSON only in production: the browsable API is a second set of HTML pages (forms, the
    # API's structure) that the portal's pages and their policy do not cover.
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    ],
}

# --- Logging --------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # Phones and voter ids masked in log lines (a member search by phone is in its URL).
    "filters": {"redact": {"()": "cadreconnect.log_privacy.RedactPersonalData"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # runserver's request lines (gunicorn's: cadreconnect/gunicorn.conf.py).
        "django.server": {
            "handlers": ["console"],
            "filters": ["redact"],
            "level": "INFO",
            "propagate": False,
        },
        # "Not Found: /path" and the like; the path may hold a number too.
        "django.request": {"filters": ["redact"]},
    },
}
