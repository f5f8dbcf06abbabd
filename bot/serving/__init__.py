"""Serving: the WSGI app, the server and its workers, readiness, the configured engine."""
