"""sectionist's web app: browse clusters, listen to sections, read explanations, compare methods.

Build it with :func:`dashboard.app.create_app`; ``dashboard.app:server`` is the gunicorn target.
"""
