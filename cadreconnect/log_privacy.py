"""Log lines without personal data: request lines and messages with any phone number or voter
id masked (cadreconnect.privacy.redact), for the web servers' logs.

A search for a member by phone puts the number in the URL (`/members/?q=%2B9198...`), and
every server logs its request lines: Django's runserver (the `django.server` logger, filtered
in settings.LOGGING) and gunicorn, the production server (cadreconnect/gunicorn.conf.py uses
RedactingGunicornLogger for its access and error logs).
"""

from __future__ import annotations

import logging

from gunicorn.glogging import Logger as GunicornLogger

from cadreconnect.privacy import redact, redact_url


class RedactPersonalData(logging.Filter):
    """Masks phones and voter ids in a record's message and its string arguments (URLs are
    decoded first). Numbers alone (a status code, a size) are left as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(argument) for argument in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        return True


def _redacted(value: object) -> object:
    if isinstance(value, str) and not value.isdigit():
        return redact_url(value)
    return value


_GUNICORN_FILTER = RedactPersonalData()


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's logger with the request line, path, query string and referrer of each access
    log line redacted, and the error log filtered (its "Error handling request <uri>")."""

    REDACTED_ATOMS = ("r", "U", "q", "f", "{referer}i")

    def setup(self, cfg) -> None:
        super().setup(cfg)
        self.error_log.addFilter(_GUNICORN_FILTER)  # one instance: setup runs again on HUP

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in self.REDACTED_ATOMS:
            if isinstance(atoms.get(key), str):
                atoms[key] = redact_url(atoms[key])
        return atoms
