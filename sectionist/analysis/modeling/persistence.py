"""Fitted models in the store (``models/``): their keys, saving with joblib beside the library versions,
and loading (models saved by earlier layouts of the code included, see :func:`read_model`)."""

from __future__ import annotations

import logging

from sectionist.store.errors import StoreError
from sectionist.store.schema import PROJECTIONS, RUNS

log = logging.getLogger(__name__)


#: Store folder of the fitted models (``models/runs/{run_id}.joblib``, ``models/projections/{space}/{kind}{dims}.joblib``).
MODELS_PREFIX = "models"
#: Libraries whose versions are recorded beside each saved model; a model saved under other
#: versions of any of them is not loaded (its run or map does not cover new sections; see :func:`load_model`).
MODEL_LIBRARIES = ("numpy", "scipy", "scikit-learn", "joblib", "openTSNE", "umap-learn", "pynndescent")


def run_model_key(run_id: str) -> str:
    """Store key of a run's fitted model."""
    RUNS.part(run_id=run_id)  # a bad run id: StoreError
    return f"{MODELS_PREFIX}/runs/{run_id}.joblib"


def projection_model_key(space: str, kind: str, dims: int) -> str:
    """Store key of a map's fitted projector."""
    return f"{MODELS_PREFIX}/projections/{PROJECTIONS.part(space=space, kind=kind, dims=dims)}.joblib"


def model_libraries() -> dict:
    """``{library: version}`` of :data:`MODEL_LIBRARIES` installed here (and of sectionist)."""
    import importlib.metadata as md

    from sectionist.analysis import __version__

    out = {"sectionist": __version__}
    for name in MODEL_LIBRARIES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


def save_model(store, key: str, obj, *, meta: dict | None = None) -> str:
    """Save a fitted model under ``key`` (joblib) with the library versions beside it (``key + ".json"``,
    with the entries of ``meta``: e.g. a map's fit seconds, which ``sectionist repair`` needs).

    Both are written atomically; returns ``key``. Model files are pickles: load them only from a
    store you trust (the dashboard never loads them).
    """
    import io

    import joblib

    buf = io.BytesIO()
    joblib.dump(obj, buf, compress=3)
    store.write_bytes(key, buf.getvalue())
    store.write_json(key + ".json", {**(meta or {}), "libraries": model_libraries(), "type": type(obj).__name__,
                                     "bytes": len(buf.getvalue())})
    return key


def load_model(store, key):
    """The model saved under ``key``, or None with a warning when it is absent or was saved by other
    library versions (what it would place is then reported as not covered, never guessed)."""
    import warnings

    if not isinstance(key, str) or not key:
        return None
    if not store.exists(key):
        log.warning("%s/%s: model file missing; what it would place stays uncovered", store.uri, key)
        return None
    saved = (store.read_json(key + ".json", default={}) or {}).get("libraries") or {}
    now = model_libraries()
    differ = {k: (saved.get(k), v) for k, v in now.items() if saved.get(k) != v}
    if differ:
        msg = (f"{store.uri}/{key} was saved with other library versions ("
               + ", ".join(f"{k} {a or '?'} here {b}" for k, (a, b) in sorted(differ.items()))
               + "); it is not used, so new sections stay uncovered by it: 'sectionist refit' fits a new "
               "version with these libraries")
        warnings.warn(msg, stacklevel=2)
        log.warning(msg)
        return None
    try:
        return read_model(store.read_bytes(key))
    except Exception as exc:  # a damaged or foreign file must not stop the analysis
        log.warning("%s/%s: model file unreadable (%s: %s); what it would place stays uncovered",
                    store.uri, key, type(exc).__name__, exc)
        return None


# ---- models saved by earlier layouts of the code ------------------------------------------------------

#: Modules of the layout before the one package (top-level ``analysis``, ``store``, ``dashboard``) whose new
#: home is not just ``sectionist.`` + their old name.
MOVED_MODULES = {
    "analysis.audio": "sectionist.analysis.corpus.audio",
    "analysis.clustering": "sectionist.analysis.modeling.clustering",
    "analysis.compare": "sectionist.analysis.modeling.compare",
    "analysis.config": "sectionist.analysis.run.config",
    "analysis.cpu": "sectionist.analysis.run.cpu",
    "analysis.demo": "sectionist.analysis.corpus.demo",
    "analysis.devcorpus": "sectionist.analysis.corpus.devcorpus",
    "analysis.distributed": "sectionist.analysis.run.distributed",
    "analysis.explain": "sectionist.analysis.modeling.explain",
    "analysis.features": "sectionist.analysis.sections.features",
    "analysis.lab": "sectionist.analysis.sections.lab",
    "analysis.modeling": "sectionist.analysis.modeling",
    "analysis.pipeline": "sectionist.analysis.run.pipeline",
    "analysis.projection": "sectionist.analysis.modeling.projection",
    "analysis.refit": "sectionist.analysis.modeling.refit",
    "analysis.runs": "sectionist.analysis.modeling.runs",
    "analysis.saliency": "sectionist.analysis.embeddings.saliency",
    "analysis.sectioning": "sectionist.analysis.sections.sectioning",
    "analysis.soundtracks": "sectionist.analysis.sections.soundtracks",
}
#: Classes that left their module after models were saved: ``{module: {class: new module}}`` (modules
#: named as after :data:`MOVED_MODULES`).
MOVED_CLASSES = {
    "sectionist.analysis.modeling.clustering": {
        "MethodSpec": "sectionist.analysis.modeling.estimators",
        "KMeansMethod": "sectionist.analysis.modeling.estimators",
        "GMMMethod": "sectionist.analysis.modeling.estimators",
        "FuzzyCMeansMethod": "sectionist.analysis.modeling.estimators",
        "WardMethod": "sectionist.analysis.modeling.estimators",
        "HDBSCANMethod": "sectionist.analysis.modeling.estimators",
        "FeatureScaler": "sectionist.analysis.modeling.scaling",
    },
    "sectionist.analysis.modeling.runs": {
        "SpaceData": "sectionist.analysis.modeling.specs",
        "RunSpec": "sectionist.analysis.modeling.specs",
        "RunModel": "sectionist.analysis.modeling.runmodel",
        "Placement": "sectionist.analysis.modeling.runmodel",
        "Stability": "sectionist.analysis.modeling.scores",
    },
    "sectionist.analysis.modeling": {
        "PlacementReport": "sectionist.analysis.modeling.placement",
        "RunRows": "sectionist.analysis.modeling.tables",
    },
}
#: Top-level packages of the layout before the one package.
OLD_PACKAGES = ("analysis", "store", "dashboard")


def renamed_class(module: str, name: str) -> tuple[str, str]:
    """Where the class ``module.name`` of a saved model lives now: ``analysis.clustering.KMeansMethod``
    → ``("sectionist.analysis.modeling.estimators", "KMeansMethod")``; other names are returned as they are."""
    if module in MOVED_MODULES:
        module = MOVED_MODULES[module]
    elif module.split(".")[0] in OLD_PACKAGES:
        module = f"sectionist.{module}"
    return MOVED_CLASSES.get(module, {}).get(name, module), name


def require_model(store, key: str, what: str, remedy: str):
    """The model saved under ``key``, needed to rebuild ``what`` exactly (``sectionist repair``).

    Raises
    ------
    StoreError
        when the file is gone or cannot be used here (unreadable, other library versions), naming
        ``what``, the key and ``remedy`` (what to run instead).
    """
    if not store.exists(key):
        raise StoreError(f"{what}: its fitted model {key} is gone, so it cannot be rebuilt as it was; {remedy}")
    model = load_model(store, key)
    if model is None:
        raise StoreError(f"{what}: its fitted model {key} cannot be used here (unreadable or saved with other "
                         f"library versions; see the warning), so it cannot be rebuilt as it was; {remedy}")
    return model


def read_model(data: bytes):
    """A model from the bytes of a joblib file (as ``joblib.load``), with the classes that moved since it
    was saved looked up where they are now (:func:`renamed_class`).

    Model files are pickles: read them only from a store you trust.
    """
    import io

    try:  # joblib.load has no unpickler option: its own steps, with ours
        from joblib import numpy_pickle_utils
        from joblib.numpy_pickle import NumpyUnpickler

        open_file = numpy_pickle_utils._validate_fileobject_and_memmap  # decompresses
    except (ImportError, AttributeError):  # another joblib layout: models of the current one still load
        import joblib

        return joblib.load(io.BytesIO(data))

    class ModelUnpickler(NumpyUnpickler):
        """joblib's unpickler, finding moved classes at their new home."""

        def find_class(self, module, name):
            return super().find_class(*renamed_class(module, name))

    with open_file(io.BytesIO(data), "") as (fobj, _):
        return ModelUnpickler("", fobj, ensure_native_byte_order=True).load()
