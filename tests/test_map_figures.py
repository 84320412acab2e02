"""The Map's geometry (issue 14 item 5) on the pure builders of sectionist/dashboard/ui/figures/map.py, and the
selection's resolution to sections (item 1) on sectionist/dashboard/data/map_sections.py."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import Delaunay

from sectionist.dashboard.data import map_sections
from sectionist.dashboard.ui.figures import map as map_figures


def _tsne_like(seed=0):
    """Two clusters on a nonlinear map: cluster 0 bent into a ring-shaped arc (its mean lies in
    the empty middle), cluster 1 split into two far blobs (its mean lies between them)."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.1 * np.pi, 1.9 * np.pi, 150)
    arc = np.c_[np.cos(t), np.sin(t)] * 5 + rng.normal(0, 0.2, (150, 2))
    blobs = np.r_[rng.normal([20, 0], 0.5, (60, 2)), rng.normal([40, 0], 0.5, (60, 2))]
    xyz = np.r_[arc, blobs].astype(np.float32)
    labels = np.r_[np.zeros(150, int), np.ones(120, int)]
    return xyz, labels


def _centre_traces(fig):
    return {t.legendgroup: t for t in fig.data if t.name and str(t.name).startswith("centre ")}


def test_medoid_marker_sits_on_its_clusters_points_on_a_nonlinear_map():
    xyz, labels = _tsne_like()
    fig = map_figures.section_map(xyz, np.arange(len(xyz)), labels=labels, centres=True)
    centres = _centre_traces(fig)
    assert set(centres) == {"0", "1"}
    for c in (0, 1):
        pts = xyz[labels == c].astype(float)
        marker = np.array([centres[str(c)].x[0], centres[str(c)].y[0]])
        # the cluster's mean (what a projected centroid approximates) is not among its points here
        mean = pts.mean(axis=0)
        assert np.min(np.linalg.norm(pts - mean, axis=1)) > 2.0
        # the marker is one of the cluster's own points: close to many of them, inside their hull
        assert np.min(np.linalg.norm(pts - marker, axis=1)) < 1e-4
        near = np.sum(np.linalg.norm(pts - marker, axis=1) < 2.0)
        assert near >= 10
        if c == 1:  # inside the hull of the blob it sits in
            blob = pts[np.linalg.norm(pts - marker, axis=1) < 5]
            assert Delaunay(blob).find_simplex(marker) >= 0 or np.min(np.linalg.norm(blob - marker, axis=1)) < 1e-4


def test_cluster_medoids_sample_large_clusters_and_skip_noise():
    rng = np.random.default_rng(3)
    xyz = rng.normal(0, 1, (5000, 2))
    labels = np.r_[np.zeros(4000, int), -np.ones(1000, int)]
    meds = map_figures.cluster_medoids(xyz, labels, max_points=300)
    assert [c for c, _ in meds] == [0]
    assert np.linalg.norm(meds[0][1]) < 0.3  # the medoid of a Gaussian cloud is near its centre
    # the same result each time (seeded sample)
    assert np.array_equal(meds[0][1], map_figures.cluster_medoids(xyz, labels, max_points=300)[0][1])


def test_filtered_out_cluster_has_no_marker_and_markers_follow_their_legend_group():
    xyz, labels = _tsne_like(1)
    keep = labels == 1  # the map's cluster filter keeps cluster 1 only
    fig = map_figures.section_map(xyz[keep], np.flatnonzero(keep), labels=labels[keep], centres=True)
    centres = _centre_traces(fig)
    assert set(centres) == {"1"}
    assert all(t.showlegend is False for t in centres.values())
    # a legend click on "cluster 1" hides its diamond too (same legend group)
    cluster_trace = next(t for t in fig.data if t.name == "cluster 1")
    assert cluster_trace.legendgroup == centres["1"].legendgroup


def test_map_has_keys_for_diamonds_and_ring_and_a_legend_outside_the_plot():
    xyz, labels = _tsne_like(2)
    fig = map_figures.section_map(xyz, np.arange(len(xyz)), labels=labels, centres=True, highlight=4)
    legend_names = [t.name for t in fig.data if t.showlegend is not False]
    assert any("medoid" in n for n in legend_names)
    assert "selected" in legend_names
    assert fig.data[-1].name == "selected"  # the ring stays last (ring_patch relies on it)
    leg = fig.layout.legend
    # under the plot area: y below 0 in paper coordinates, anchored at its top
    assert leg.orientation == "h" and leg.y < 0 and leg.yanchor == "top"


def test_no_centres_without_the_option_or_on_3d():
    xyz, labels = _tsne_like(4)
    assert not _centre_traces(map_figures.section_map(xyz, np.arange(len(xyz)), labels=labels))
    xyz3 = np.c_[xyz, np.zeros(len(xyz))]
    assert not _centre_traces(map_figures.section_map(xyz3, np.arange(len(xyz)), labels=labels, centres=True))


def test_place_labels_avoid_overlaps_and_hide_what_cannot_fit():
    # three markers on top of each other: the first two get different sides, the rest may hide
    xy = np.array([[0.0, 0.0], [0.001, 0.0], [0.0, 0.001], [10.0, 10.0]])
    pos = map_figures.place_labels(xy, ["0", "1", "2", "3"])
    shown = [p for p in pos[:3] if p]
    assert len(shown) == len(set(shown)) and len(shown) >= 2
    assert pos[3] == "top center"  # alone: the default place
    # far apart markers all keep the default
    assert map_figures.place_labels(np.array([[0, 0], [100, 0], [0, 100]]), ["a", "b", "c"]) == ["top center"] * 3


def test_axis_titles_pca_explained_variance_and_nonlinear_maps():
    assert map_figures.map_axis_titles("pca", 2, [0.234, 0.1]) == ["PC1 (23.4 %)", "PC2 (10.0 %)"]
    assert map_figures.map_axis_titles("pca", 3, None) == ["PC1", "PC2", "PC3"]
    assert map_figures.map_axis_titles("umap", 2) == ["UMAP 1", "UMAP 2"]
    assert map_figures.map_axis_titles("tsne", 2) == ["t-SNE 1", "t-SNE 2"]
    xyz, labels = _tsne_like(5)
    fig = map_figures.section_map(xyz, np.arange(len(xyz)), labels=labels,
                                  axis_titles=map_figures.map_axis_titles("pca", 2, [0.234, 0.1]))
    assert fig.layout.xaxis.title.text == "PC1 (23.4 %)" and fig.layout.yaxis.title.text == "PC2 (10.0 %)"
    xyz3 = np.c_[xyz, xyz[:, 0]]
    fig3 = map_figures.section_map(xyz3, np.arange(len(xyz)), labels=labels,
                                   axis_titles=map_figures.map_axis_titles("umap", 3))
    scene = fig3.layout.scene
    assert [scene.xaxis.title.text, scene.yaxis.title.text, scene.zaxis.title.text] == ["UMAP 1", "UMAP 2", "UMAP 3"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from synthetic_store import build_synthetic_store

    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("mapfig")
    store = build_synthetic_store(root / "store", n_sections=120, random_state=5)
    # the app first: the page modules register themselves with it when imported
    app = create_app(store.uri, db_url=f"sqlite:///{root / 'users.sqlite'}", secret_key="m" * 40)
    return app.server.extensions["sectionist_data"]


def test_render_map_titles_pca_axes_from_projection_info_and_uses_medoids(data):
    from sectionist.dashboard.pages import map as map_page

    space = data.spaces()[0]
    run = next(r for r in data.runs.index if data.runs.loc[r, "space"] == space)
    fig, _, _ = map_page.render_map(data, space, "pca2", run)
    evr = map_sections.explained_variance(data, space, "pca", 2)
    assert evr is not None and len(evr) == 2
    assert fig.layout.xaxis.title.text == f"PC1 ({100 * evr[0]:.1f} %)"
    fig, _, _ = map_page.render_map(data, space, "umap2", run)
    assert fig.layout.xaxis.title.text == "UMAP 1"
    centres = _centre_traces(fig)
    labels = data.run_arrays(run).label
    assert set(centres) == {str(c) for c in np.unique(labels) if c >= 0}
    # with a cluster filter only the kept clusters have diamonds
    keep = sorted(int(c) for c in np.unique(labels) if c >= 0)[:2]
    fig, _, _ = map_page.render_map(data, space, "umap2", run, clusters=keep)
    assert set(_centre_traces(fig)) == {str(c) for c in keep}


def test_selected_positions_from_the_browser_rows_and_from_customdata(data):
    from sectionist.dashboard.pages import map as map_page

    rows = {"rows": [5, 3, 3, 7, -1, 10**9, 2.5, True], "n": 9, "active": True}
    assert map_sections.selected_positions(data, rows).tolist() == [3, 5, 7]
    assert map_sections.selected_positions(data, {"points": [{"customdata": 4}, {"x": 1}]}).tolist() == [4]
    assert map_sections.selected_positions(data, None).tolist() == []
    from dash.development.base_component import Component

    def text(children):
        return " ".join(c.to_plotly_json().__repr__() if isinstance(c, Component) else str(c) for c in children)

    assert "3 sections from" in text(map_page.selection_summary(data, rows, None))
    assert "No sections in the selection" in text(map_page.selection_summary(data, {"rows": [], "n": 2,
                                                                                     "active": True}, None))
    assert "lasso or box tool" in text(map_page.selection_summary(data, {"rows": [], "n": 0, "active": False}, None))
