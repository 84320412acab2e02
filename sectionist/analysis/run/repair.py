"""``sectionist repair``: rebuild the damaged parts of a store (:func:`repair_store`), never writing over a
readable part.

Each damaged part is rebuilt by running again the unit that wrote it, and written only when what that
unit makes equals what the readable parts and saved models hold (``docs/store.md``, "Damaged parts"):

- a song's own parts (``songs``, ``sections``, ``features``, …): its audio analysed again in memory
  with the store's settings (:func:`reanalyse_song`), when the file is there and unchanged and every
  readable part of the song comes out equal;
- a modelling run's parts (``runs``, ``clusterings``, ``clusters``, ``explanations``): runs are
  immutable, so the run is not fitted anew as a new version; its unit is run again with the spec of its
  saved model (``models/runs/<run>.joblib``), on the sections it was fitted on, and the result is kept
  only if it is that run (:func:`repair_run`). A run whose model is gone, or that placed sections after
  its fit, is refused;
- a map's parts (``projections``, ``projection_info``): from its saved projector, which keeps its fitted
  coordinates (:func:`repair_map`); a map with sections placed after its fit, or fitted on a sample,
  cannot be reproduced exactly and is refused;
- a run's ``centroid_projections`` (:func:`repair_centroids`) and a pair's ``comparisons`` /
  ``comparison_sections`` (:func:`repair_comparison`);
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
from sectionist.store.schema import (CENTROID_PROJECTIONS, CLUSTERINGS, CLUSTERS, COMPARISON_SECTIONS, COMPARISONS,
                                     EXPLANATIONS, PROJECTION_INFO, PROJECTIONS, RUNS, SONGS)

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
    """Rebuild every damaged part that can be rebuilt (see the module's doc); returns the report.

    Units are repaired in the order they depend on each other: songs (their sections and features feed
    the rest), runs, maps, the runs' centroids on the maps, comparisons.
    """
    before = check_store(store)
    report = RepairReport(before)
    songs: dict = {}
    runs: dict = {}
    maps: dict = {}
    centroids: list = []
    pairs: dict = {}
    for key in sorted(before.damaged):
        table, _, rest = key.partition("/")
        part = rest[:-len(".parquet")]
        if table in SONG_TABLES:
            songs.setdefault(part.rsplit("/", 1)[-1], set()).add(key)
        elif table in RUN_TABLES:
            runs.setdefault(part, set()).add(table)
        elif table == CENTROID_PROJECTIONS:
            centroids.append(part)
        elif table in (PROJECTIONS, PROJECTION_INFO):
            maps.setdefault(part, set()).add(table)
        elif table in (COMPARISONS, COMPARISON_SECTIONS):
            pairs.setdefault(part, set()).add(table)
        else:
            report.refused[key] = (f"{table} parts are not made by a modelling unit repair can run again: delete "
                                   "the part and run the command that makes it")
    units = ([(reanalyse_song, song_id, keys, (analyze_config,)) for song_id, keys in sorted(songs.items())]
             + [(repair_run, run_id, tables, ()) for run_id, tables in sorted(runs.items())]
             + [(repair_map, part, tables, ()) for part, tables in sorted(maps.items())]
             + [(repair_centroids, run_id, {CENTROID_PROJECTIONS}, ()) for run_id in sorted(centroids)]
             + [(repair_comparison, part, tables, ()) for part, tables in sorted(pairs.items())])
    for fn, part, damaged, extra in units:
        keys = sorted(damaged) if fn is reanalyse_song else [store.part_key(t, part) for t in sorted(damaged)]
        try:
            left = fn(store, part, damaged, *extra) or {}  # key → why, for the parts of the unit it left
        except StoreError as exc:
            left = {k: str(exc) for k in keys}
        report.repaired.extend(k for k in keys if k not in left)
        report.refused.update(left)
    report.after = check_store(store)
    return report


def _readable(store, table: str, part: str, damaged: set) -> pd.DataFrame | None:
    if table in damaged or not store.has_part(table, part):
        return None
    return store.read_part(table, part)


def repair_run(store, run_id: str, damaged: set) -> dict:
    """Rebuild the ``damaged`` tables' parts of run ``run_id`` (StoreError saying why when it cannot)."""
    from sectionist.analysis.modeling.cluster import explain_from_store, profiles_from_store, truth_from_store
    from sectionist.analysis.modeling.persistence import require_model, run_model_key
    from sectionist.analysis.modeling.runmodel import place_sections
    from sectionist.analysis.modeling.runs import fit_run
    from sectionist.analysis.modeling.scores import STABILITY_REPEATS, run_stability
    from sectionist.analysis.modeling.spaces import load_space
    from sectionist.analysis.modeling.specs import subset_space
    from sectionist.analysis.modeling.tables import run_rows

    stored = {t: _readable(store, t, run_id, damaged) for t in RUN_TABLES}
    row = stored[RUNS].iloc[0].to_dict() if stored[RUNS] is not None and len(stored[RUNS]) else None
    key = row.get("model_key") if row is not None and isinstance(row.get("model_key"), str) else run_model_key(run_id)
    model = require_model(store, key, f"run {run_id}", f"delete it ('sectionist runs delete {run_id}') or fit a "
                          "new version ('sectionist refit')")
    if row is not None and int(row.get("n_placed") or 0):
        raise StoreError(f"run {run_id}: {int(row['n_placed'])} sections were placed into it after its fit; "
                         "repair rebuilds only runs that placed none")
    spec = model.spec
    data = load_space(store, spec.space, level=spec.level, central_only=spec.central_only)
    if stored[CLUSTERINGS] is not None:
        cl = stored[CLUSTERINGS]
        fitted = cl.loc[~cl["placed"].fillna(False).astype(bool), "section_id"]
        if set(fitted) != set(data.section_ids):  # a copy of every row would change the fit's last bits
            data = subset_space(data, fitted)
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
    left = {store.part_key(t, run_id): f"run {run_id}: its unit makes no {t} part (it was not explained)"
            for t in damaged if new[t] is None}
    for table in (CLUSTERINGS, CLUSTERS, EXPLANATIONS, RUNS):  # the runs part last, as write_run does
        if table in damaged and new[table] is not None:
            store.write_part(table, run_id, new[table])
    return left


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
    # read back as the store reads a part: a column made rows leave out reads as its default (segments'
    # version: 1), as it does in the stored part
    again = declared(table).fill_defaults(pq.read_table(io.BytesIO(buf.getvalue()))).to_pandas()
    spec = declared(table)
    # a column the part predates reads as null (its declared default NaN): nothing there to differ from
    predates = {c.name for c in spec.columns if isinstance(c.default, float) and np.isnan(c.default)
                and c.name in old and old[c.name].isna().all()}
    cols = [c for c in old.columns if c not in TIMING_COLUMNS and c not in predates]
    if set(cols) - set(again.columns) or len(old) != len(again):
        return False
    a = old[cols].reset_index(drop=True)
    b = again[cols].reset_index(drop=True)
    try:
        pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=1e-9, atol=0)
    except AssertionError:
        return False
    return True


def repair_map(store, part: str, damaged: set) -> dict:
    """Rebuild the ``damaged`` parts (``projections``, ``projection_info``) of the map ``part``
    (``{space}/{kind}{dims}``) from its saved projector
    (:func:`sectionist.analysis.modeling.maps.rebuild_map`; StoreError saying why when it cannot)."""
    from sectionist.analysis.modeling.maps import rebuild_map

    space, _, name = part.partition("/")
    kind = name.rstrip("0123456789")
    new = rebuild_map(store, space, kind, int(name[len(kind):]),
                      info=_readable(store, PROJECTION_INFO, part, damaged),
                      points=_readable(store, PROJECTIONS, part, damaged))
    for table in (PROJECTIONS, PROJECTION_INFO):  # projection_info last, as the fit writes them
        if table in damaged:
            store.write_part(table, part, new[table])
    return {}


def _read_whole(store, table: str, part: str, what: str) -> pd.DataFrame:
    try:
        return store.read_part(table, part)
    except StoreError as exc:
        raise StoreError(f"{what}: its {table} part {store.part_key(table, part)} is damaged or missing and was "
                         f"not rebuilt ({exc})") from exc


def repair_centroids(store, run_id: str, damaged: set) -> dict:
    """Rebuild run ``run_id``'s ``centroid_projections`` part: its ``clusters`` centroids placed with every
    saved projector of its space, as its modelling unit drew them (StoreError when a map of the space is
    damaged or its projector unusable: the part would lack that map)."""
    from sectionist.analysis.modeling.maps import centroid_frame
    from sectionist.analysis.modeling.persistence import load_model
    from sectionist.analysis.modeling.spaces import space_section_matrix

    what = f"centroids of run {run_id}"
    space = str(_read_whole(store, RUNS, run_id, what)["space"].iloc[0])
    clusters = _read_whole(store, CLUSTERS, run_id, what)
    projectors = {}
    for part in PROJECTION_INFO.parts_where(store.list_parts(PROJECTION_INFO), space=space):
        info = _read_whole(store, PROJECTION_INFO, part, what).iloc[0]
        proj = load_model(store, info.get("model_key"))
        if proj is None:
            raise StoreError(f"{what}: the projector of map {part} is gone or unusable here, so the centroids on it "
                             "cannot be drawn as they were; 'sectionist refit --maps' fits the maps anew")
        projectors[(str(info["kind"]), int(info["dims"]))] = proj
    rows = centroid_frame(run_id, space, clusters, projectors, space_section_matrix(store, space)[2])
    if rows is None or not projectors:
        raise StoreError(f"{what}: the run has no cluster but noise or its space no map, so its unit writes no "
                         "centroid_projections part; delete the damaged part")
    store.write_part(CENTROID_PROJECTIONS, run_id, rows)
    return {}


def repair_comparison(store, part: str, damaged: set) -> dict:
    """Rebuild the ``damaged`` parts (``comparisons``, ``comparison_sections``) of the pair of runs ``part``
    (``{run_a}__{run_b}``), a pure function of the two runs' clusterings, kept only when the readable
    sibling part comes out with equal values."""
    from sectionist.analysis.modeling.comparisons import pair_frames, pair_part, run_labels

    runs = set(store.list_parts(RUNS))
    pair = [(a, part[len(a) + 2:]) for a in sorted(runs) if part.startswith(a + "__") and part[len(a) + 2:] in runs]
    if not pair:
        raise StoreError(f"comparison {part}: not a pair of this store's runs (a run was deleted since); delete the "
                         "part ('sectionist compare' removes the parts of runs that are gone)")
    a, b = pair[0]
    labels = {}
    for r in (a, b):
        try:
            labels[r] = run_labels(store, r)
        except StoreError as exc:
            raise StoreError(f"comparison {part}: the clusterings part of run {r} is damaged and was not rebuilt "
                             f"({exc})") from exc
    made = pair_frames(a, b, labels[a], labels[b])
    if made is None or pair_part(a, b) != part:
        raise StoreError(f"comparison {part}: runs {a} and {b} share no section, so no comparison part is made; "
                         "delete the damaged part")
    for table in (COMPARISONS, COMPARISON_SECTIONS):
        old = _readable(store, table, part, damaged)
        if old is not None and not same_values(store, table, old, made[table]):
            raise StoreError(f"comparison {part}: computed again from the two runs' clusterings, its {table} part "
                             "differs from the readable one (a run changed since; 'sectionist compare' compares them "
                             "again); nothing written")
    for table in (COMPARISONS, COMPARISON_SECTIONS):
        if table in damaged:
            store.write_part(table, part, made[table])
    return {}


def reanalyse_song(store, song_id: str, keys: set, config=None) -> dict:
    """Analyse the song ``song_id`` again from its audio (the ``uri`` of its songs row, else the manifest's
    record) with the store's analysis settings, and write its damaged parts ``keys`` (store keys), only
    when every readable part of the song comes out with equal values (StoreError saying why, nothing
    written, otherwise). Returns ``{key: why}`` for damaged parts such an analysis does not make."""
    uri = None
    if store.has_part(SONGS, song_id):
        try:
            uri = store.read_part(SONGS, song_id)["uri"].iloc[0]
        except StoreError:
            uri = None
    if uri is None:
        uri = _uri_from_manifest(store, song_id)
    again = "analyse the file again with 'sectionist analyze FILE --store STORE --force'"
    if uri is None:
        raise StoreError(f"song {song_id}: its songs part is damaged and the manifest names no file for it; {again}")
    if str(uri).startswith("s3://") or not Path(uri).is_file():
        raise StoreError(f"song {song_id}: its audio {uri} is not there (repair reads local files); {again} from "
                         "a copy")
    import dataclasses

    from sectionist.store.base import frame_to_arrow

    from sectionist.analysis.corpus.audio import content_hash
    from sectionist.analysis.run.config import AnalysisConfig
    from sectionist.analysis.run.song import run_song

    digest = content_hash(uri)
    if digest[:16] != song_id:
        raise StoreError(f"song {song_id}: the file {uri} has changed since it was analysed (its content is song "
                         f"{digest[:16]} now); nothing written; {again} from the original")
    if config is None:  # the store's own analysis settings
        names = {f.name for f in dataclasses.fields(AnalysisConfig)}
        config = AnalysisConfig(**{k: v for k, v in (store.read_manifest().get("config") or {}).items() if k in names})
    res = run_song(Path(uri), song_id, digest, dataclasses.replace(config, force=True, workers=1, dask=None))
    if res.status != "ok":
        raise StoreError(f"song {song_id}: analysing {uri} again failed ({res.reason}); nothing written")
    made = {store.part_key(t, p): (t, p, tbl) for (t, p), tbl in res.parts.items()}
    made[store.part_key(SONGS, song_id)] = (SONGS, song_id, SONGS.conform(frame_to_arrow(pd.DataFrame([res.song_row]))))
    for key, (table, part, tbl) in made.items():
        if key not in keys and store.has_part(table, part) \
                and not same_values(store, table, store.read_part(table, part), tbl.to_pandas()):
            raise StoreError(f"song {song_id}: analysed again, its part {key} differs from the readable one (the "
                             f"store was analysed with other settings or libraries); nothing written; {again}")
    left = {k: f"song {song_id}: analysing its audio with the store's settings does not make this part; run the "
               "command that made it again" for k in keys if k not in made}
    for key in sorted(k for k in keys if k in made):
        table, part, tbl = made[key]
        if table != SONGS:
            store.write_part(table, part, tbl)
    if store.part_key(SONGS, song_id) in keys:  # last: it marks the song done
        store.write_part(SONGS, song_id, made[store.part_key(SONGS, song_id)][2])
    return left


def _uri_from_manifest(store, song_id: str):
    for path, rec in (store.read_manifest().get("songs") or {}).items():
        if isinstance(rec, dict) and rec.get("song_id") == song_id:
            return path
    return None
