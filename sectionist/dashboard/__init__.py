"""sectionist's web app: browse clusters, listen to sections, read explanations, compare methods.

Build it with :func:`sectionist.dashboard.app.create_app`; ``sectionist.dashboard.app:server`` is the gunicorn target.
"""
