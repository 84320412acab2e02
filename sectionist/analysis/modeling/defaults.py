"""The default runs, maps and comparisons that ``sectionist analyze`` keeps up to date (:func:`run_default_models`)."""

from __future__ import annotations

import logging
import time

from sectionist.store.schema import PROJECTION_INFO, RUNS

from sectionist.analysis.modeling.cluster import cluster_store
from sectionist.analysis.modeling.comparisons import compare_store
from sectionist.analysis.modeling.maps import DEFAULT_PROJECTIONS, project_centroids, project_space, space_projectors
from sectionist.analysis.modeling.marks import centroids_complete, is_marked, mark, modeling_hash
from sectionist.analysis.modeling.placement import place_new_sections
from sectionist.analysis.modeling.runs import LARGE_ROWS
from sectionist.analysis.modeling.scores import STABILITY_REPEATS
from sectionist.analysis.modeling.roles import song_relative_space
from sectionist.analysis.modeling.spaces import default_level, embedders_in_store, space_section_matrix
from sectionist.analysis.modeling.specs import make_run_id

log = logging.getLogger(__name__)


#: The reference study's number of clusters: always fitted as a named default run next to the automatic K.
REFERENCE_K = 4


def default_run_specs(store, embedders=("musicnn",)) -> list[dict]:
    """The runs ``sectionist analyze`` makes: K-Means and GMM on classical17 with K chosen by the K rule,
    K-Means on classical17 with the reference study's K = 4 (``classical17-kmeans-k4``), K-Means on
    classical17 relative to each song (``classical17-role-kmeans-auto``: kinds of section across songs
    rather than songs, :mod:`sectionist.analysis.modeling.roles`), and K-Means on each embedder with frames
    in the store (frame level with mode aggregation, and on section means)."""
    specs = [dict(space="classical17", method="kmeans"), dict(space="classical17", method="gmm"),
             dict(space="classical17", method="kmeans", k=REFERENCE_K),
             dict(space=song_relative_space("classical17"), method="kmeans")]
    have = set(embedders_in_store(store))
    for emb in embedders:
        if emb in have:
            specs.append(dict(space=emb, method="kmeans", level="frame"))
            specs.append(dict(space=emb, method="kmeans", level="section-mean"))
        else:
            log.info("embedder %s: no frames in %s; its runs are skipped", emb, store.uri)
    return specs


def _spec_lineage(spec: dict, seed: int) -> str:
    """The run id (lineage) that :func:`sectionist.analysis.modeling.cluster.cluster_store` gives the options ``spec``."""
    level = spec.get("level") or default_level(spec["space"])
    return make_run_id(spec["space"], spec["method"], spec.get("k", "auto"), scaling=spec.get("scaling", "standard"),
                       level=level, seed=seed, central_only=spec.get("central_only", False))


def run_default_models(store, *, embedders=("musicnn",), seed: int = 0, progress: bool = True,
                       projections=DEFAULT_PROJECTIONS, n_repeats: int = STABILITY_REPEATS,
                       report: dict | None = None, large_rows: int = LARGE_ROWS) -> list[str]:
    """The modelling step of ``sectionist analyze``: bring a store's runs, maps and comparisons up to date.

    Resumable, unit by unit, whatever happened to the songs:

    1. sections that existing runs and maps do not cover are **placed** with their saved models
       (:func:`sectionist.analysis.modeling.placement.place_new_sections`; fitted rows never change, no run id is refitted);
    2. each default run (:func:`default_run_specs`) whose lineage has no version yet is fitted;
    3. each default map that does not exist yet is fitted, and every run's centroids are drawn on
       every map of its space;
    4. the comparisons are (re)computed when a run was added or placed into, or when the last
       comparison step did not finish.

    Each finished unit is recorded in ``manifest["modeling"]["done"]`` with the hash of these
    settings; a unit counts as done when its last part exists (``runs``, ``projection_info``) or,
    for the comparisons, when it is recorded. A kill at any point is finished by running the same
    command again.

    Parameters
    ----------
    report : dict, optional
        Filled with ``placement`` (:class:`sectionist.analysis.modeling.placement.PlacementReport`) and ``fitted`` (run ids and maps fitted now).
    large_rows : int
        Above this many rows runs and maps take the large-corpus path (``docs/modeling.md``).

    Returns
    -------
    list of str
        The run ids of the default runs (the latest version of each default lineage).
    """
    specs = default_run_specs(store, embedders)
    config_hash = modeling_hash(specs, projections, seed, n_repeats)
    timings: dict = {}
    fitted: list = []
    t_all = time.perf_counter()

    # 1. placement
    t0 = time.perf_counter()
    compared = is_marked(store, "comparisons", config_hash)  # the last comparison step finished
    placement = place_new_sections(store, progress=progress)
    changed = set(placement.runs)
    if changed:
        mark(store, "comparisons", config_hash, done=False)
    timings["placement"] = round(time.perf_counter() - t0, 2)

    # 2. runs
    runs = store.read_table(RUNS)
    lineages = set(runs["lineage"]) if not runs.empty else set()
    spaces = []
    it = specs
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(specs, desc="models")
    for spec in it:
        if spec["space"] not in spaces:
            spaces.append(spec["space"])
        lineage = _spec_lineage(spec, seed)
        unit = f"run:{lineage}"
        if lineage not in lineages:
            mark(store, "comparisons", config_hash, done=False)
            t0 = time.perf_counter()
            run_id = cluster_store(store, seed=seed, project=False, progress=progress, n_repeats=n_repeats,
                                   version=1, large_rows=large_rows, **spec)
            timings[run_id] = round(time.perf_counter() - t0, 2)
            fitted.append(run_id)
            changed.add(run_id)
        if not is_marked(store, unit, config_hash):
            mark(store, unit, config_hash)

    # 3. maps, then every run's centroids on every map of its space
    for space in spaces:
        missing = [(k, d) for k, d in projections
                   if not store.has_part(PROJECTION_INFO, PROJECTION_INFO.part(space=space, kind=k, dims=d))]
        if missing:
            t0 = time.perf_counter()
            made = project_space(store, space, kinds=missing, seed=seed, progress=progress, large_rows=large_rows)
            fitted.extend(f"{space}/{k}{d}" for k, d in made)
            timings[f"projections {space}"] = round(time.perf_counter() - t0, 2)
        for k, d in projections:
            part = PROJECTION_INFO.part(space=space, kind=k, dims=d)
            if store.has_part(PROJECTION_INFO, part) and not is_marked(store, f"projection:{part}", config_hash):
                mark(store, f"projection:{part}", config_hash)
        runs = store.read_table(RUNS)
        maps = {(k, d) for k, d in projections
                if store.has_part(PROJECTION_INFO, PROJECTION_INFO.part(space=space, kind=k, dims=d))}
        on_space = runs.loc[runs["space"] == space, "run_id"].tolist() if not runs.empty else []
        stale = [r for r in on_space if maps and not centroids_complete(store, r, maps)]
        if stale:
            projectors = space_projectors(store, space)
            if projectors:
                cols = space_section_matrix(store, space)[2]
                project_centroids(store, space, projectors, cols, run_ids=set(stale))

    # 4. comparisons: all of them when the last step did not finish, else the pairs of changed runs
    if not compared or changed:
        t0 = time.perf_counter()
        compare_store(store, progress=progress, involving=changed if compared else None)
        timings["comparisons"] = round(time.perf_counter() - t0, 2)
        mark(store, "comparisons", config_hash)
    timings["total"] = round(time.perf_counter() - t_all, 2)
    store.update_manifest(lambda manifest: manifest.setdefault("timings", {}).update(models=timings))
    log.info("models: %s", timings)
    if report is not None:
        report["placement"] = placement
        report["fitted"] = fitted
    runs = store.read_table(RUNS)
    out = []
    for spec in specs:
        mine = runs[runs["lineage"] == _spec_lineage(spec, seed)]
        if len(mine):
            out.append(str(mine.sort_values("version")["run_id"].iloc[-1]))
    return out
