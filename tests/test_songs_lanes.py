"""Songs page lanes: unique lane names, colours aligned to a reference run, a truth lane when truth exists."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sectionist.dashboard.ui.figures import palette

if "sectionist.dashboard.pages.songs" not in __import__("sys").modules:
    import dash

    dash.Dash(__name__, use_pages=True, pages_folder="")  # a page module registers itself with an app
from sectionist.dashboard.pages import songs as page  # noqa: E402

EVIL = "<script>alert(1)</script>"


class FakeData:
    """The part of StoreData the lanes view reads: one song of six sections, three runs."""

    def __init__(self, truth=None, labels=None):
        self.songs = pd.DataFrame({"title": ["Song A"], "duration_s": [60.0]}, index=pd.Index(["s1"], name="song_id"))
        self.runs = pd.DataFrame(
            {"space": ["musicnn", "musicnn", "mfcc"], "method": ["kmeans", "kmeans", "gmm"],
             "level": ["frames", "section-mean", "section"], "n_clusters": [3, 3, 2], "version": [1, 1, 2]},
            index=pd.Index(["r-frames", "r-means", "r-gmm"], name="run_id"))
        self.labels = labels or {"r-frames": [0, 0, 1, 1, 2, 2], "r-means": [2, 2, 0, 0, 1, 1],
                                 "r-gmm": [1, 1, 1, 0, 0, -1]}
        self.secs = pd.DataFrame({"section_id": [f"x{i}" for i in range(6)], "song_id": "s1",
                                  "start_s": np.arange(6) * 10.0, "end_s": np.arange(1, 7) * 10.0,
                                  "truth_label": truth if truth is not None else [None] * 6, "pos": np.arange(6)})

    def song_sections(self, song_id):
        return self.secs

    def run_arrays(self, run_id):
        return SimpleNamespace(label=np.asarray(self.labels[run_id]))

    def section(self, section_id):
        return None

    def table(self, table):
        return pd.DataFrame()  # no structure segments: the lanes are the runs' and the truth's


@pytest.fixture(autouse=True)
def _names(monkeypatch):
    monkeypatch.setattr(page, "cluster_names", lambda data, run_id: {0: "low", 1: EVIL, 2: "bright"})


def _colours(fig):
    """lane name → list of (section position, colour) from the figure's bars."""
    out = {}
    ticks = [t.replace("<br>", " · ") for t in fig.layout.yaxis.ticktext]
    for t in fig.data:
        if t.type != "bar":
            continue
        lane = ticks[int(t.y[0])]
        for p in t.customdata:
            out.setdefault(lane, {})[int(p)] = t.marker.color
    return out


def test_lane_names_unique_for_runs_sharing_space_and_method():
    data = FakeData()
    names = [page.lane_name(data, r) for r in data.runs.index]
    assert len(set(names)) == len(names)
    assert names[0].startswith("musicnn · kmeans · frames (K=3)")
    assert "section mean" in names[1] and "r-means" in names[1]
    fig = page.lanes_figure(data, "s1")
    assert [t.replace("<br>", " · ") for t in fig.layout.yaxis.ticktext][:3] == names


def test_permuted_run_gets_the_reference_colours():
    data = FakeData()
    fig = page.lanes_figure(data, "s1")
    cols = _colours(fig)
    ref, perm = cols[page.lane_name(data, "r-frames")], cols[page.lane_name(data, "r-means")]
    assert ref == perm
    assert len(set(ref.values())) == 3
    # the title wraps at its " · " separators (a phone has room for about 40 characters a line)
    assert "colours matched to musicnn · kmeans · frames" in fig.layout.legend.title.text.replace("<br>", " · ")


def test_reference_can_be_chosen():
    data = FakeData()
    fig = page.lanes_figure(data, "s1", reference="r-gmm")
    assert "r-gmm" in fig.layout.legend.title.text
    cols = _colours(fig)
    gmm = cols[page.lane_name(data, "r-gmm")]
    assert gmm[5] == palette.NOISE_COLOR
    assert gmm[0] == palette.cluster_color(1) and gmm[3] == palette.cluster_color(0)


def test_aligned_colours_maps_a_permutation_back_and_numbers_extra_clusters():
    ref = np.array([0, 0, 1, 1, -1])
    assert page.aligned_colours(ref, [5, 5, 3, 3, 3]).tolist() == [0, 0, 1, 1, 1]
    # a third cluster with no partner gets a label after the reference's largest
    assert page.aligned_colours(ref, [1, 1, 0, 2, -1]).tolist() == [0, 0, 1, 2, -1]


def test_truth_lane_iff_truth_exists():
    assert "truth" not in [t.replace("<br>", " · ") for t in page.lanes_figure(FakeData(), "s1").layout.yaxis.ticktext]
    data = FakeData(truth=["verse", "verse", "chorus", "chorus", None, "bridge"])
    fig = page.lanes_figure(data, "s1")
    ticks = [t.replace("<br>", " · ") for t in fig.layout.yaxis.ticktext]
    assert ticks[-1] == "truth"
    truth = _colours(fig)["truth"]
    assert sorted(truth) == [0, 1, 2, 3, 5]  # the section without truth is left out
    ref = _colours(fig)[ticks[0]]
    assert truth[0] == ref[0] and truth[2] == ref[2]  # verse ↔ cluster 0, chorus ↔ cluster 1
    hovers = " ".join(t.hovertemplate for t in fig.data if t.type == "bar" and ticks[int(t.y[0])] == "truth")
    assert "verse" in hovers and "chorus" in hovers


def test_names_escaped():
    data = FakeData(truth=[EVIL] * 6)
    data.runs = data.runs.rename(index={"r-frames": EVIL})
    data.labels[EVIL] = data.labels.pop("r-frames")
    fig = page.lanes_figure(data, "s1")
    text = fig.to_json()
    assert "<script>" not in text
    assert "&lt;script&gt;" in text


def test_long_lane_names_wrap_at_their_separators():
    from sectionist.dashboard.ui.figures.common import wrap_lane

    name = "musicnn · kmeans · section-mean (K=3) · r-means · v1"
    wrapped = wrap_lane(name)
    assert wrapped.replace("<br>", " · ") == name
    assert all(len(line) <= 26 or " · " not in line for line in wrapped.split("<br>"))
    assert wrap_lane("truth") == "truth"
