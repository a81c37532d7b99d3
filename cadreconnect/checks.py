"""System checks: Django runs them before check, migrate and runserver (not under gunicorn)."""

from __future__ import annotations

from django.core import checks


@checks.register()
def celery_redelivery_check(app_configs: object = None, **kwargs: object) -> list[checks.Error]:
    """The worker refuses to start on the same problem (cadreconnect.celery)."""
    from cadreconnect.celery import redelivery_problem

    problem = redelivery_problem()
    return [checks.Error(problem, id="cadreconnect.E001")] if problem else []
