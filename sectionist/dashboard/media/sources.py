"""How the dashboard reads a song's audio from its store: the options of
:func:`sectionist.analysis.corpus.audio.read_span` (and ``open_source``) for ``s3://`` songs."""

from __future__ import annotations


def s3_options(store) -> dict:
    """Options for :func:`sectionist.analysis.corpus.audio.read_span` on ``s3://`` songs: the store's S3 client."""
    opts = {"client": getattr(store, "client", None), "endpoint_url": getattr(store, "endpoint_url", None)}
    return {k: v for k, v in opts.items() if v is not None}
