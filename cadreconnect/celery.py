"""The Celery application. Its settings are the CELERY_* values in cadreconnect.settings."""

import os

from celery import Celery

from cadreconnect import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadreconnect.settings")
broker.install()

app = Celery("cadreconnect")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
