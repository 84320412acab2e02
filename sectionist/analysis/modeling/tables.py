"""A fitted run as rows of the store's tables (:func:`run_rows`, pure) and their writing (:func:`write_run`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from sectionist.store.schema import CLUSTERINGS, CLUSTERS, EXPLANATIONS, RUNS

from sectionist.analysis.modeling.explain import Explanation
from sectionist.analysis.modeling.purity import song_purity
from sectionist.analysis.modeling.roles import is_song_relative
from sectionist.analysis.modeling.runs import RunResult
from sectionist.analysis.modeling.scores import Stability
from sectionist.analysis.modeling.specs import versioned_run_id


N_PROTOTYPES = 5
N_BORDERLINE = 5


def json_text(obj) -> str:
    return json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o))


def _nan_to_none(x):
    return None if x is None or (isinstance(x, float) and not np.isfinite(x)) else float(x)


@dataclass
class RunRows:
    """The rows one run writes: a ``runs`` row, and its ``clusterings``, ``clusters`` and
    ``explanations`` parts (``explanations`` None: the run is not explained and its part is removed)."""

    runs: pd.DataFrame
    clusterings: pd.DataFrame
    clusters: pd.DataFrame
    explanations: pd.DataFrame | None


def run_rows(result: RunResult, *, stability: Stability | None = None, explanation: Explanation | None = None,
             truth: dict | None = None, profile: pd.DataFrame | None = None, seconds: float = float("nan"),
             created_at: str | None = None, version: int = 1, model_key: str | None = None) -> RunRows:
    """Turn a fitted run and its other steps into the rows of its tables (pure; see ``docs/store.md``).

    Parameters
    ----------
    result : RunResult
        From :func:`sectionist.analysis.modeling.runs.fit_run`.
    stability : Stability, optional
        From :func:`sectionist.analysis.modeling.scores.run_stability`; None: not asked for (NaN rates, 0 repeats).
    explanation : Explanation, optional
        From :func:`sectionist.analysis.modeling.explain.explain_run`.
    truth : dict, optional
        From :func:`sectionist.analysis.modeling.scores.score_truth` (``ari``, ``nmi``); None: no truth (NaN).
    profile : pd.DataFrame, optional
        Readable features of the sections (index: section id), averaged per cluster.
    seconds : float
        Wall time of the run.
    created_at : str, optional
        ISO time stamp (default: now, UTC).
    version : int
        Version of the run within its lineage (``result.run_id``): version 1 is written under the
        lineage's id, a later one under ``{lineage}~v{version}`` (:func:`sectionist.analysis.modeling.specs.versioned_run_id`).
    model_key : str, optional
        Store key of the run's saved :class:`sectionist.analysis.modeling.runmodel.RunModel` (:func:`sectionist.analysis.modeling.persistence.save_model`).

    Returns
    -------
    RunRows
    """
    spec = result.spec
    lineage = result.run_id
    run_id = versioned_run_id(lineage, version)
    labels, n_sec = result.labels, result.n_sections
    ranking = explanation.ranking if explanation is not None else {}
    ts = truth if truth is not None else {"ari": np.nan, "nmi": np.nan, "n": 0}
    stab_rate = stability.rate if stability is not None else np.full(n_sec, np.nan)
    stab_ari = stability.ari if stability is not None else float("nan")
    purity, run_purity = song_purity(labels, result.song_ids)
    purity = purity.set_index("cluster")

    cluster_rows = []
    for c in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == c)
        ids = result.section_ids[members]
        row = {"run_id": run_id, "cluster": int(c), "size": int(len(members)),
               "n_songs": int(len(set(result.song_ids[members]))),
               "song_purity": float(purity.at[int(c), "song_purity"]),
               "songs_effective": float(purity.at[int(c), "songs_effective"])}
        if c >= 0:
            row["centroid"] = json_text(dict(zip(result.columns, result.centroids[c].tolist())))
            order = np.argsort(result.distance[members], kind="stable")
            row["prototypes"] = ids[order[:N_PROTOTYPES]].tolist()
            s_order = np.argsort(np.nan_to_num(result.silhouette[members], nan=np.inf), kind="stable")
            row["borderline"] = ids[s_order[:N_BORDERLINE]].tolist()
        else:
            row["centroid"] = None
            row["prototypes"] = []
            row["borderline"] = []
        if profile is not None:
            prof = profile.reindex([i for i in ids if i in profile.index]).mean()
            row["profile"] = json_text({kk: _nan_to_none(v) for kk, v in prof.items()})
        else:
            row["profile"] = None
        row["shap_ranking"] = json_text(ranking.get(int(c), []))
        cluster_rows.append(row)

    proba, distribution = result.proba, result.label_distribution
    clusterings = pd.DataFrame({
        "run_id": run_id,
        "section_id": result.section_ids,
        "label": labels.astype(np.int64),
        "confidence": result.confidence.astype(np.float64),
        "distance": result.distance.astype(np.float64),
        "silhouette": result.silhouette.astype(np.float64),
        "stability": stab_rate.astype(np.float64),
        "proba": list(np.round(proba, 6).tolist()) if proba is not None else [None] * n_sec,
        "label_distribution": list(np.round(distribution, 6).tolist()) if distribution is not None else [None] * n_sec,
        "placed": False,
    })
    n_clusters = result.n_clusters
    k_label = f"K={n_clusters}" + (" auto" if spec.k == "auto" and spec.uses_k else "")
    params = {"k": spec.k, "k_range": result.k_range, "scaling": spec.scaling, "level": spec.level,
              "central_only": spec.central_only, "stability_repeats": stability.n_repeats if stability else 0,
              "explained_with": explanation.space if explanation is not None else None,
              "k_reason": result.k_reason, **spec.params}
    if result.large is not None:
        params["large"] = result.large
    quality = result.quality
    run = {
        "run_id": run_id, "space": spec.space, "method": spec.method, "scaling": spec.scaling, "level": spec.level,
        "k": n_clusters, "seed": int(spec.seed), "params": json_text(params),
        "silhouette": quality["silhouette"], "davies_bouldin": quality["davies_bouldin"],
        "calinski_harabasz": quality["calinski_harabasz"],
        "bic": result.bic if result.bic is not None else np.nan,
        "stability_ari": stab_ari, "fidelity": explanation.fidelity if explanation is not None else float("nan"),
        "ari_truth": ts["ari"], "nmi_truth": ts["nmi"],
        "n_sections": int(n_sec), "n_clusters": n_clusters,
        "curves": json_text(result.curves),
        "created_at": created_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "label": f"{spec.method} ({k_label}) on {spec.space}" + (f", {spec.level}" if spec.level != "section" else "")
        + (", relative to each song" if is_song_relative(spec.space) else ""),
        "seconds": round(seconds, 3),
        "lineage": lineage, "version": int(version), "model_key": model_key,
        "n_placed": 0, "placed_drift": float("nan"),
        "k_rule": result.k_rule, "k_min": result.k_min, "k_max": result.k_max, "k_at_edge": bool(result.k_at_edge),
        **run_purity,
    }
    shap_df = None
    if explanation is not None:
        shap_df = explanation.shap.copy()
        shap_df.insert(0, "run_id", run_id)
    return RunRows(pd.DataFrame([run]), clusterings, pd.DataFrame(cluster_rows), shap_df)


def write_run(store, rows: RunRows) -> str:
    """Write a run's parts (its ``runs`` part last: a run exists once that part does); returns the run id."""
    run_id = rows.runs["run_id"].iloc[0]
    store.write_part(CLUSTERINGS, run_id, rows.clusterings)
    store.write_part(CLUSTERS, run_id, rows.clusters)
    if rows.explanations is not None:
        store.write_part(EXPLANATIONS, run_id, rows.explanations)
    else:
        store.delete_part(EXPLANATIONS, run_id)
    store.write_part(RUNS, run_id, rows.runs)
    return run_id
