from portal.wsgi import app as app
