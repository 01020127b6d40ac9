"""The WSGI application of an installed portal, for any WSGI server.

    gunicorn portal.wsgi:app

The settings come from the environment (see ``portal.config``), as for the ``portal`` command.
A WSGI server runs no worker of the portal's: e-mails, transfers and imports are delivered by
``portal worker`` (Celery on Redis). Without Redis nothing would deliver them, which is said
once at start-up.
"""

from portal import create_app
from portal.worker.services import mode

app = create_app()

if mode(app) == "embedded":
    app.logger.warning(
        "Served by a WSGI server without PORTAL_REDIS_URL: no worker delivers e-mails and "
        "transfers or runs imports here. Set PORTAL_REDIS_URL and run 'portal worker', or "
        "serve with 'portal serve', which runs the embedded worker."
    )
