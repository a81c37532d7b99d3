"""gunicorn settings of the portal: `gunicorn cadreconnect.wsgi -c cadreconnect/gunicorn.conf.py`.

Command-line options (--bind, --workers, --access-logfile ...) still apply on top of these.
The logger class keeps phone numbers and voter ids out of the access and error logs: a member
search by phone puts the number in the request line (cadreconnect.log_privacy).
"""

import sys
from pathlib import Path

# The config file is read before the application is imported: make the project importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

logger_class = "cadreconnect.log_privacy.RedactingGunicornLogger"
