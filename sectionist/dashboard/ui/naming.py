"""The words shown for runs and clusters, in the request's language, made from what
:class:`sectionist.dashboard.data.store_data.StoreData` returns: a run's name, its version note
and coverage, and the clusters' default names."""

from __future__ import annotations

import pandas as pd

from sectionist.dashboard.ui.i18n import _, current_language, integer, ngettext


def run_label(data, run_id) -> str:
    """A short human name of a run."""
    if run_id not in data.runs.index:
        return str(run_id)
    r = data.runs.loc[run_id]
    k = r.get("n_clusters")
    method, space = r.get("method", "?"), r.get("space", "?")
    if k is not None and not pd.isna(k):
        return ngettext("%(method)s on %(space)s, %(num)d cluster (%(run)s)",
                        "%(method)s on %(space)s, %(num)d clusters (%(run)s)", int(k),
                        method=method, space=space, run=run_id)
    return _("%(method)s on %(space)s (%(run)s)", method=method, space=space, run=run_id)


def version_note(data, run_id) -> str:
    """``"v1 (superseded by v2)"``, ``"v2 (latest)"``, or ``""`` for a lineage with one version
    (:attr:`~sectionist.dashboard.data.store_data.StoreData.run_versions`)."""
    v = data.run_versions
    if run_id not in v.index or int(v.at[run_id, "n_versions"]) < 2:
        return ""
    version, latest = int(v.at[run_id, "version"]), int(v.at[run_id, "latest_version"])
    if version == latest:
        return _("v%(version)s (latest)", version=version)
    return _("v%(version)s (superseded by v%(latest)s)", version=version, latest=latest)


def coverage_text(data, run_id) -> str:
    """One line on a run's coverage (:meth:`~sectionist.dashboard.data.store_data.StoreData.run_coverage`),
    or ``""`` when it fitted every section of the store: ``"placed 12 of 240"``,
    ``"does not cover 3 new songs (45 sections; no model to place them)"``…"""
    cov = data.run_coverage(run_id)
    parts = []
    if cov["placed"]:
        parts.append(_("placed %(placed)s of %(labelled)s (labelled by the fitted model, not part of the fit)",
                       placed=integer(cov["placed"]), labelled=integer(cov["labelled"])))
    if cov["missing"]:
        why = _("not placed yet") if cov["has_model"] else _("no model to place them")
        n_songs = cov["missing_songs"]
        if n_songs:
            parts.append(ngettext("does not cover %(num)d new song (%(sections)s sections; %(why)s)",
                                  "does not cover %(num)d new songs (%(sections)s sections; %(why)s)", n_songs,
                                  sections=integer(cov["missing"]), why=why))
        else:
            n = cov["missing"]
            parts.append(ngettext("does not cover %(num)d section (%(why)s)",
                                  "does not cover %(num)d sections (%(why)s)", n, why=why))
    return "; ".join(parts)


def default_cluster_names(data, run_id) -> dict:
    """cluster → a descriptive default name (:func:`sectionist.analysis.glossary.default_cluster_names`):
    the plain adjectives of the median features that set it furthest apart from the corpus, and
    its most distinctive tag; unique within the run; in the request's language (kept per language
    until the store changes). ``{}`` for an unknown run."""
    from sectionist.analysis.glossary import default_cluster_names as names_of

    def compute():
        z, tags = data.cluster_profile(run_id)
        return names_of(z, tags, gettext=_)

    if run_id not in data.runs.index:
        return {}
    return data.memo("cluster_names", (run_id, current_language()), compute)


def scheme_order(scheme) -> tuple:
    """Structure lanes in the order ``analyze`` writes the schemes (``repeats`` first), then the others
    (schemes saved from the Lab…) by name."""
    from sectionist.analysis.structure.schemes import DEFAULT_SCHEMES

    scheme = str(scheme)
    return (DEFAULT_SCHEMES.index(scheme), "") if scheme in DEFAULT_SCHEMES else (len(DEFAULT_SCHEMES), scheme)
