"""The WSGI application of an installed portal, for any WSGI server.

    gunicorn portal.wsgi:app

The settings come from the environment (see ``portal.config``), as for the ``portal`` command.
"""

from portal import create_app

app = create_app()
