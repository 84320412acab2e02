"""Reusable layout pieces (HTML builders) and per-page callback registrars.

Callbacks that several pages share are registered by functions (``register_*``) that the page
modules call when Dash imports them, so every app built by :func:`sectionist.dashboard.app.create_app` gets
its own copy (Dash hands the callbacks registered with ``dash.callback`` to the next app it sets up).
"""
