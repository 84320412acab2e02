"""Modelling as resumable units: the finished units recorded in the store's manifest."""

from __future__ import annotations

from sectionist.store.schema import CENTROID_PROJECTIONS

from sectionist.analysis.modeling.tables import json_text


def modeling_hash(specs, projections, seed, n_repeats) -> str:
    import hashlib

    blob = json_text({"specs": specs, "projections": [list(p) for p in projections], "seed": seed,
                  "n_repeats": n_repeats})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def mark(store, unit: str, config_hash: str, *, done: bool = True) -> None:
    """Record (or, with ``done=False``, forget) a finished modelling unit in the manifest (applied to the
    manifest as it is then: another process's marks are kept)."""

    def edit(manifest: dict) -> None:
        m = manifest.get("modeling") or {}
        if m.get("hash") != config_hash:
            m = {"hash": config_hash, "done": []}
        units = [u for u in m.get("done", []) if u != unit]
        if done:
            units.append(unit)
        manifest["modeling"] = {**m, "done": units}

    store.update_manifest(edit)


def is_marked(store, unit: str, config_hash: str) -> bool:
    m = store.read_manifest().get("modeling") or {}
    return m.get("hash") == config_hash and unit in (m.get("done") or [])


def centroids_complete(store, run_id: str, maps: set) -> bool:
    if not store.has_part(CENTROID_PROJECTIONS, run_id):
        return False
    cp = store.read_part(CENTROID_PROJECTIONS, run_id, columns=["kind", "dims"])
    return {(str(k), int(d)) for k, d in zip(cp["kind"], cp["dims"])} >= maps
