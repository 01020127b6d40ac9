"""Flask-Login wiring: sessions are rows in ``user_sessions``, the cookie carries the row id."""

from __future__ import annotations

from functools import wraps

from flask import Flask, abort, g, request
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user

from portal.accounts.models import Role
from portal.accounts.services import load_session_user
from portal.audit.services import Actor, reset_actor, set_actor

login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Please log in to see this page.")
login_manager.login_message_category = "info"
# Our own session rows already bind a login to its cookie; Flask-Login's extra check on
# the user agent would only log people out when their browser updates.
login_manager.session_protection = None


@login_manager.user_loader
def _load_user(session_id: str):
    if g.get("tenant") is None:
        # Platform pages have no users; a tenant's session cookie never reaches them anyway.
        return None
    return load_session_user(session_id)


def role_required(*roles: Role):
    """Let only logged-in users with one of ``roles`` into the view; others get 403."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def init_app(app: Flask) -> None:
    login_manager.init_app(app)

    @app.before_request
    def _set_actor() -> None:
        if g.get("tenant") is None:
            return
        user_id = current_user.id if current_user.is_authenticated else None
        g._actor_token = set_actor(Actor(user_id=user_id, ip_address=request.remote_addr))

    @app.teardown_request
    def _reset_actor(exc) -> None:
        token = g.pop("_actor_token", None)
        if token is not None:
            reset_actor(token)
