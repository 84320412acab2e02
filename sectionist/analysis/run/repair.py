"""``sectionist repair``: rebuild the damaged parts of a store (:func:`repair_store`), never writing over a
readable part.

What can be rebuilt, and how:

- a modelling run's parts (``runs``, ``clusterings``, ``clusters``, ``explanations``,
  ``centroid_projections``): runs are immutable, so the run is not fitted anew as a new version; its unit
  is run again with the spec of its saved model (``models/runs/<run>.joblib``), on the sections it was
  fitted on, and the result is kept only if it is that run: the refit's labels must equal the saved
  model's, and every readable part of the run must come out equal (values), else nothing is written and
  the report says why. A run whose model is gone, or that placed sections after its fit, is refused.
- a song's own parts (``songs``, ``sections``, ``features``, …): re-analysed from the audio at the
  ``uri`` its ``songs`` row records when that file is there (``analyze --force`` of that file), else
  reported.
- anything else: reported with what to do.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sectionist.store.check import StoreCheck, check_store
from sectionist.store.errors import StoreError
from sectionist.store.schema import CENTROID_PROJECTIONS, CLUSTERINGS, CLUSTERS, EXPLANATIONS, RUNS, SONGS

log = logging.getLogger(__name__)

#: A run's own tables (part name = run id) that :func:`repair_run` rebuilds.
RUN_TABLES = (RUNS, CLUSTERINGS, CLUSTERS, EXPLANATIONS)
#: Tables with one part per song (part name ends with the song id).
SONG_TABLES = ("songs", "sections", "features", "melspec", "frames", "tags", "segments", "sound_tracks")
#: Columns of a runs row that record when and how long, not what: not compared, kept from the stored row.
TIMING_COLUMNS = ("created_at", "seconds")


@dataclass
class RepairReport:
    """What :func:`repair_store` did: parts rebuilt, parts left damaged (with why), and the check after."""

    before: StoreCheck
    repaired: list = field(default_factory=list)
    #: key → why it was not repaired
    refused: dict = field(default_factory=dict)
    after: StoreCheck | None = None

    def lines(self) -> list[str]:
        out = [f"checked {self.before.n_parts} parts of {self.before.uri}: {len(self.before.damaged)} damaged"]
        out += [f"repaired {k}" for k in self.repaired]
        out += [f"not repaired {k}: {why}" for k, why in sorted(self.refused.items())]
        if self.after is not None:
            out.append("the store is whole again" if self.after.ok else
                       f"still damaged: {', '.join(sorted(self.after.damaged))}")
        return out


def repair_store(store, *, analyze_config=None) -> RepairReport:
    """Rebuild every damaged part that can be rebuilt (see the module's doc); returns the report."""
    before = check_store(store)
    report = RepairReport(before)
    runs: dict = {}
    songs: dict = {}
    for key in sorted(before.damaged):
        table, _, rest = key.partition("/")
        part = rest[:-len(".parquet")]
        if table in RUN_TABLES or table == CENTROID_PROJECTIONS:
            runs.setdefault(part, set()).add(table)
        elif table in SONG_TABLES:
            songs.setdefault(part.rsplit("/", 1)[-1], set()).add(key)
        else:
            report.refused[key] = ("a derived table repair does not rebuild yet: delete the part and re-run the "
                                   "command that makes it ('sectionist analyze' re-runs the missing modelling units)")
    for run_id, tables in sorted(runs.items()):
        keys = [store.part_key(t, run_id) for t in sorted(tables)]
        try:
            repair_run(store, run_id, tables)
            report.repaired.extend(keys)
        except StoreError as exc:
            report.refused.update({k: str(exc) for k in keys})
    for song_id, keys in sorted(songs.items()):
        try:
            reanalyse_song(store, song_id, analyze_config)
            report.repaired.extend(sorted(keys))
        except StoreError as exc:
            report.refused.update({k: str(exc) for k in keys})
    report.after = check_store(store)
    return report


def _readable(store, table: str, part: str, damaged: set) -> pd.DataFrame | None:
    if table in damaged or not store.has_part(table, part):
        return None
    return store.read_part(table, part)


def repair_run(store, run_id: str, damaged: set) -> None:
    """Rebuild the ``damaged`` tables' parts of run ``run_id`` (StoreError saying why when it cannot)."""
    from sectionist.analysis.modeling.cluster import explain_from_store, profiles_from_store, truth_from_store
    from sectionist.analysis.modeling.maps import ensure_maps
    from sectionist.analysis.modeling.persistence import load_model, run_model_key
    from sectionist.analysis.modeling.runmodel import place_sections
    from sectionist.analysis.modeling.runs import fit_run
    from sectionist.analysis.modeling.scores import STABILITY_REPEATS, run_stability
    from sectionist.analysis.modeling.spaces import load_space
    from sectionist.analysis.modeling.specs import subset_space
    from sectionist.analysis.modeling.tables import run_rows

    stored = {t: _readable(store, t, run_id, damaged) for t in RUN_TABLES}
    row = stored[RUNS].iloc[0].to_dict() if stored[RUNS] is not None and len(stored[RUNS]) else None
    key = row.get("model_key") if row is not None and isinstance(row.get("model_key"), str) else run_model_key(run_id)
    if not store.exists(key):
        raise StoreError(f"run {run_id}: its fitted model {key} is gone too, so the run cannot be rebuilt as it was; "
                         f"delete it ('sectionist runs delete {run_id}') or fit a new version ('sectionist refit')")
    model = load_model(store, key)
    if model is None:
        raise StoreError(f"run {run_id}: its fitted model {key} cannot be used here (unreadable or saved with other "
                         "library versions; see the warning), so the run cannot be rebuilt as it was")
    if row is not None and int(row.get("n_placed") or 0):
        raise StoreError(f"run {run_id}: {int(row['n_placed'])} sections were placed into it after its fit; "
                         "repair rebuilds only runs that placed none")
    spec = model.spec
    data = load_space(store, spec.space, level=spec.level, central_only=spec.central_only)
    if stored[CLUSTERINGS] is not None:
        cl = stored[CLUSTERINGS]
        data = subset_space(data, cl.loc[~cl["placed"].fillna(False).astype(bool), "section_id"])
    elif row is not None and int(row["n_sections"]) != len(data.section_ids):
        raise StoreError(f"run {run_id}: it was fitted on {int(row['n_sections'])} sections and the store has "
                         f"{len(data.section_ids)} in its space now; which ones it was fitted on is lost with its "
                         "clusterings part")
    elif row is None:
        raise StoreError(f"run {run_id}: both its runs and clusterings parts are damaged; which sections it was "
                         "fitted on is lost")
    result = fit_run(data, spec)
    if not np.array_equal(place_sections(model, data).labels, result.labels):
        raise StoreError(f"run {run_id}: fitted again, its labels differ from its saved model's; nothing written")
    params = json.loads(row["params"]) if row is not None else {}
    n_repeats = int(params.get("stability_repeats", STABILITY_REPEATS))
    stab = run_stability(data, result, n_repeats=n_repeats, progress=False) if n_repeats else None
    explained = params.get("explained_with", "") is not None if row is not None else stored[EXPLANATIONS] is not None
    explanation = explain_from_store(store, result) if explained else None
    version = int(row["version"]) if row is not None else (int(run_id.rsplit("~v", 1)[1]) if "~v" in run_id else 1)
    rows = run_rows(result, stability=stab, explanation=explanation, truth=truth_from_store(store, result),
                    profile=profiles_from_store(store, result),
                    seconds=float(row["seconds"]) if row is not None else float("nan"),
                    created_at=row["created_at"] if row is not None else None, version=version, model_key=key)
    if rows.runs["run_id"].iloc[0] != run_id:
        raise StoreError(f"run {run_id}: its saved model is that of run {rows.runs['run_id'].iloc[0]}; nothing written")
    new = {RUNS: rows.runs, CLUSTERINGS: rows.clusterings, CLUSTERS: rows.clusters, EXPLANATIONS: rows.explanations}
    for table, old in stored.items():
        if old is not None and not same_values(store, table, old, new[table]):
            raise StoreError(f"run {run_id}: fitted again, its {table} part differs from the readable one; "
                             "nothing written")
    for table in (CLUSTERINGS, CLUSTERS, EXPLANATIONS, RUNS):  # the runs part last, as write_run does
        if table in damaged and new[table] is not None:
            store.write_part(table, run_id, new[table])
    if CENTROID_PROJECTIONS in damaged:
        store.delete_part(CENTROID_PROJECTIONS, run_id)
        ensure_maps(store, spec.space, seed=spec.seed, progress=False, run_ids={run_id})


def same_values(store, table: str, old: pd.DataFrame, new: pd.DataFrame | None) -> bool:
    """Whether ``new`` (rows made again) holds the values of the stored part ``old`` (timings aside)."""
    import io

    import pyarrow.parquet as pq

    if new is None:
        return False
    buf = io.BytesIO()
    from sectionist.store.base import frame_to_arrow
    from sectionist.store.schema import table as declared

    pq.write_table(declared(table).conform(frame_to_arrow(new)), buf)
    again = pq.read_table(io.BytesIO(buf.getvalue())).to_pandas()
    cols = [c for c in old.columns if c not in TIMING_COLUMNS]
    if set(cols) - set(again.columns) or len(old) != len(again):
        return False
    a = old[cols].reset_index(drop=True)
    b = again[cols].reset_index(drop=True)
    try:
        pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=1e-9, atol=0)
    except AssertionError:
        return False
    return True


def reanalyse_song(store, song_id: str, config=None) -> None:
    """Analyse the song ``song_id`` again from its audio (the ``uri`` of its songs row), else StoreError."""
    uri = None
    if store.has_part(SONGS, song_id):
        try:
            uri = store.read_part(SONGS, song_id)["uri"].iloc[0]
        except StoreError:
            uri = None
    if uri is None:
        uri = _uri_from_manifest(store, song_id)
    if uri is None:
        raise StoreError(f"song {song_id}: its songs part is damaged and the manifest names no file for it; "
                         "analyse the file again with 'sectionist analyze FILE --store STORE --force'")
    if not str(uri).startswith("s3://") and not Path(uri).is_file():
        raise StoreError(f"song {song_id}: its audio {uri} is not there; analyse it again from a copy with "
                         "'sectionist analyze FILE --store STORE --force'")
    import dataclasses

    from sectionist.analysis.run.config import AnalysisConfig
    from sectionist.analysis.run.pipeline import analyze

    if config is None:  # the store's own analysis settings, without modelling (its runs stay as they are)
        names = {f.name for f in dataclasses.fields(AnalysisConfig)}
        stored = {k: v for k, v in (store.read_manifest().get("config") or {}).items() if k in names}
        config = AnalysisConfig(**stored)
    analyze([uri], store, dataclasses.replace(config, force=True, cluster=False, workers=1, dask=None),
            progress=False)


def _uri_from_manifest(store, song_id: str):
    for path, rec in (store.read_manifest().get("songs") or {}).items():
        if isinstance(rec, dict) and rec.get("song_id") == song_id:
            return path
    return None
