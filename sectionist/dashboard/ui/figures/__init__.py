"""Figure builders: pure functions from arrays and small frames to ``go.Figure``, the only modules
of the app that build plotly figures. Nothing here reads the store or knows about Dash; callbacks
pass what they looked up.

One module per page (``map``, ``explain``, ``clusters``, ``overview``, ``compare``, ``songs``,
``judgements``, ``saliency``, ``lab``) on top of ``palette`` (cluster colours and names) and
``common`` (escaping, the base layout). Import the module you use; this package re-exports nothing.
"""
