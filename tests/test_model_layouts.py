"""Models saved by an earlier layout of the code still load and place sections as they did.

``tests/fixtures/models_layout_v0/`` holds joblib models written by the layout before the one
package (top-level ``analysis``: classes named ``analysis.clustering.KMeansMethod``,
``analysis.runs.RunModel``, ``analysis.projection.Projector``; see its ``make.py``) and what that
code gave when it placed new rows with them (``expected.json``).
"""

import json
from pathlib import Path

import numpy as np
import pytest

from sectionist.analysis.modeling.estimators import GMMMethod, KMeansMethod
from sectionist.analysis.modeling.persistence import load_model, model_libraries, read_model, renamed_class
from sectionist.analysis.modeling.projection import Projector
from sectionist.analysis.modeling.runmodel import RunModel, place_sections
from sectionist.analysis.modeling.scaling import FeatureScaler
from sectionist.analysis.modeling.specs import RunSpec, SpaceData
from sectionist.store import open_store

FIXTURES = Path(__file__).parent / "fixtures" / "models_layout_v0"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


def test_old_module_paths_map_to_the_new_homes():
    assert renamed_class("analysis.clustering", "KMeansMethod") == ("sectionist.analysis.modeling.estimators", "KMeansMethod")
    assert renamed_class("analysis.clustering", "FeatureScaler") == ("sectionist.analysis.modeling.scaling", "FeatureScaler")
    assert renamed_class("analysis.runs", "RunModel") == ("sectionist.analysis.modeling.runmodel", "RunModel")
    assert renamed_class("sectionist.analysis.modeling.runs", "RunSpec") == ("sectionist.analysis.modeling.specs", "RunSpec")
    assert renamed_class("analysis.projection", "Projector") == ("sectionist.analysis.modeling.projection", "Projector")
    assert renamed_class("store.schema", "Table") == ("sectionist.store.schema", "Table")
    assert renamed_class("sklearn.cluster._kmeans", "KMeans") == ("sklearn.cluster._kmeans", "KMeans")


@pytest.mark.parametrize("name, method, cls", [("kmeans", "kmeans", KMeansMethod), ("gmm-frames", "gmm", GMMMethod)])
def test_an_old_run_model_places_sections_as_the_old_code_did(name, method, cls):
    model = read_model((FIXTURES / f"{name}.joblib").read_bytes())
    assert isinstance(model, RunModel) and isinstance(model.spec, RunSpec)
    assert isinstance(model.scaler, FeatureScaler) and isinstance(model.estimator, cls)
    assert model.spec.method == method
    want = EXPECTED["models"][name]
    X_new = np.array(EXPECTED["X_new"])
    if model.spec.level == "frame":
        groups = np.array(EXPECTED["groups_new"])
        data = SpaceData.from_array(X_new[: len(groups)], groups=groups)
    else:
        data = SpaceData.from_array(X_new)
    pl = place_sections(model, data)
    assert pl.labels.tolist() == want["labels"]
    np.testing.assert_array_equal(pl.confidence, want["confidence"])
    np.testing.assert_array_equal(pl.distance, want["distance"])
    if want["proba"] is None:
        assert pl.proba is None
    else:
        np.testing.assert_array_equal(pl.proba, want["proba"])


def test_an_old_projector_maps_as_the_old_code_did():
    proj = read_model((FIXTURES / "pca2.joblib").read_bytes())
    assert isinstance(proj, Projector)
    np.testing.assert_array_equal(proj.transform(np.array(EXPECTED["X_new"])), EXPECTED["models"]["pca2"]["transform"])


def test_load_model_reads_an_old_model_from_a_store(tmp_path):
    store = open_store(tmp_path / "store")
    key = "models/runs/kmeans.joblib"
    store.write_bytes(key, (FIXTURES / "kmeans.joblib").read_bytes())
    store.write_json(key + ".json", {"libraries": model_libraries(), "type": "RunModel"})
    model = load_model(store, key)
    assert isinstance(model, RunModel)
    pl = place_sections(model, SpaceData.from_array(np.array(EXPECTED["X_new"])))
    assert pl.labels.tolist() == EXPECTED["models"]["kmeans"]["labels"]


def test_a_current_model_round_trips(tmp_path):
    from sectionist.analysis.modeling.persistence import save_model
    from sectionist.analysis.modeling.runs import fit_run

    X = np.array(EXPECTED["X"])
    result = fit_run(SpaceData.from_array(X), RunSpec("toy", "kmeans", k=3))
    store = open_store(tmp_path / "store")
    key = save_model(store, "models/runs/toy.joblib", RunModel.of(result))
    model = load_model(store, key)
    assert place_sections(model, SpaceData.from_array(X)).labels.tolist() == result.labels.tolist()
