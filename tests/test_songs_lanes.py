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


def _section_titles(fig) -> list[str]:
    """The legend's section titles (its groups' titles, lines joined by " · "), in order."""
    titles = [t.legendgrouptitle.text.replace("<br>", " · ") for t in fig.data
              if t.type == "bar" and t.legendgrouptitle.text]
    return list(dict.fromkeys(titles))


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
    assert "colours matched to musicnn · kmeans · frames" in _section_titles(fig)[0]


def test_reference_can_be_chosen():
    data = FakeData()
    fig = page.lanes_figure(data, "s1", reference="r-gmm")
    assert "r-gmm" in _section_titles(fig)[0]
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


# ---- issue #23: structure parts, legends of what is drawn ----------------------------------------
def _segments(song="s1"):
    """``repeats`` (a section level lettered A B A B C A, and a phrase level) and ``merged`` (an older
    store's rows, without level and confidence)."""
    rep = pd.DataFrame({"song_id": song, "scheme": "repeats", "start_s": np.arange(6) * 10.0,
                        "end_s": np.arange(1, 7) * 10.0, "label": [4, 2, 4, 2, 7, 4], "level": "section",
                        "confidence": [0.9, 0.6, 0.8, 0.4, np.nan, np.nan]})
    phrases = pd.DataFrame({"song_id": song, "scheme": "repeats", "start_s": np.arange(12) * 5.0,
                            "end_s": np.arange(1, 13) * 5.0, "label": np.arange(12) % 2, "level": "phrase",
                            "confidence": 0.5})
    merged = pd.DataFrame({"song_id": song, "scheme": "merged", "start_s": [0.0, 30.0], "end_s": [30.0, 60.0],
                           "label": [1, 0], "level": None, "confidence": np.nan})
    return pd.concat([merged, rep, phrases], ignore_index=True)


class StructureData(FakeData):
    def table(self, table):
        return _segments()


def _bars(fig, lane):
    ticks = [t.replace("<br>", " · ") for t in fig.layout.yaxis.ticktext]
    return [t for t in fig.data if t.type == "bar" and ticks[int(t.y[0])] == lane]


def test_structure_lanes_are_parts_in_a_palette_of_their_own():
    fig = page.lanes_figure(StructureData(), "s1")
    ticks = [t.replace("<br>", " · ") for t in fig.layout.yaxis.ticktext]
    assert ticks[-2:] == ["structure · repeats", "structure · merged"]  # the default scheme first
    parts = {}
    for t in _bars(fig, "structure · repeats"):
        for start in t.base:
            parts[float(start)] = t.name
    # letters by first appearance in the song (stored labels 4 2 4 2 7 4), the phrase level left out
    assert [parts[s] for s in sorted(parts)] == ["part A", "part B", "part A", "part B", "part C", "part A"]
    structure = [t for t in fig.data if t.type == "bar" and t.name.startswith("part ")]
    for t in structure:
        assert t.marker.color not in palette.CLUSTER_PALETTE and t.marker.pattern.shape  # hatched, never a cluster's
        assert t.legendgroup.startswith("structure-") and (t.customdata == -1).all()  # selects no section
    # the same letter is the same colour on every structure lane; each letter one legend entry
    colour = {t.name: t.marker.color for t in structure}
    assert all(colour[t.name] == t.marker.color for t in structure)
    assert sorted(t.name for t in structure if t.showlegend) == ["part A", "part B", "part C"]
    merged = {float(t.base[0]): t.name for t in _bars(fig, "structure · merged")}
    assert merged == {0.0: "part A", 30.0: "part B"}


def test_a_parts_hover_says_its_letter_times_and_how_sure_it_is():
    fig = page.lanes_figure(StructureData(), "s1")
    hover = {}
    for t in _bars(fig, "structure · repeats"):
        assert "part" in t.hovertemplate and "%{hovertext}" in t.hovertemplate
        for start, text in zip(t.base, t.hovertext):
            hover[float(start)] = (t.hovertemplate, text)
    assert "part A" in hover[0.0][0] and hover[0.0][1] == "0:00.0–0:10.0 · the repeats are clear (confidence 0.90)"
    assert hover[10.0][1] == "0:10.0–0:20.0 · the repeats are fairly sure (confidence 0.60)"
    assert hover[30.0][1].endswith("the repeats are uncertain (confidence 0.40)")
    assert hover[40.0][1] == "0:40.0–0:50.0 · heard once in this song"  # part C: no other segment shares it
    assert hover[50.0][1] == "0:50.0–1:00.0"  # shares its label, but no confidence recorded
    merged = [text for t in _bars(fig, "structure · merged") for text in t.hovertext]
    assert merged == ["0:00.0–0:30.0 · heard once in this song", "0:30.0–1:00.0 · heard once in this song"]


def test_each_legend_section_has_its_title_and_lists_only_what_is_drawn():
    data = StructureData(truth=["verse", "verse", "chorus", "chorus", None, "bridge"])
    data.runs.loc["r-gmm", "n_clusters"] = 5
    data.labels["r-gmm"] = [3, 3, 4, 4, 0, 2]  # five clusters, three of them match none of the reference's
    fig = page.lanes_figure(data, "s1")
    shown = [t for t in fig.data if t.type == "bar" and t.showlegend]
    clusters = [t.name for t in shown if t.legendgroup.startswith("cluster-")]
    # the reference (K=3) by its names, then each cluster of another run that matches none of them, by
    # its run and its own name: never a bare "cluster N"
    assert clusters[:3] == ["0: low", "1: &lt;script&gt;alert(1)&lt;/script&gt;", "2: bright"]
    assert all(n.startswith("r-gmm · ") for n in clusters[3:]) and len(clusters) == len(set(clusters))
    assert not [n for n in clusters if n.startswith("cluster ")]
    assert [t.name for t in shown if t.legendgroup.startswith("truth-")] == ["bridge", "chorus", "verse"]
    assert [t.name for t in shown if t.legendgroup.startswith("structure-")] == ["part A", "part B", "part C"]
    # every colour drawn has one entry, and every entry is drawn
    drawn = {t.legendgroup for t in fig.data if t.type == "bar"}
    assert drawn == {t.legendgroup for t in shown}
    sections = _section_titles(fig)
    assert len(sections) == 3 and sections[0].startswith("colours matched to")
    assert "ground truth" in sections[1] and "structure parts" in sections[2]
    # the legend lists the sections in that order: the bars come in legend order
    kinds = [t.legendgroup.split("-")[0] for t in shown]
    assert kinds == sorted(kinds, key=["cluster", "truth", "structure"].index)


def test_a_k3_reference_lists_its_clusters_drawn_and_no_others():
    data = FakeData(labels={"r-frames": [0, 0, 1, 1, 0, 0], "r-means": [2, 2, 0, 0, 2, 2], "r-gmm": [1, 1, 0, 0, 1, 1]})
    fig = page.lanes_figure(data, "s1")
    names = [t.name for t in fig.data if t.type == "bar" and t.showlegend]
    assert names == ["0: low", "1: &lt;script&gt;alert(1)&lt;/script&gt;"]  # cluster 2 plays nowhere in the song


class SongsData(FakeData):
    """Two songs of the same six sections, and no cluster centroids."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.songs = pd.DataFrame({"title": ["Song A", "Song B"], "duration_s": [60.0, 60.0]},
                                  index=pd.Index(["s1", "s2"], name="song_id"))

    def clusters(self, run_id):
        return pd.DataFrame()


def test_several_songs_and_tracks_name_the_clusters_in_the_legend():
    data = SongsData()
    fig = page.multi_song_figure(data, ["s1", "s2"], "r-frames")
    assert list(fig.layout.yaxis.ticktext) == ["Song A", "Song B"]
    names = [t.name for t in fig.data if t.type == "bar" and t.showlegend]
    assert names == ["0: low", "1: &lt;script&gt;alert(1)&lt;/script&gt;", "2: bright"]
    for figure in (page.tracks_figure(data, "s1", "r-frames"), page.tracks_songs_figure(data, ["s1", "s2"], "r-gmm")):
        rows = sorted(t.replace("<br>", " · ") for t in figure.layout.yaxis.ticktext)
        legend = sorted(t.name for t in figure.data if t.type == "bar" and t.showlegend)
        assert legend == rows and not [n for n in legend if n.startswith("cluster ")]


def test_shown_songs_is_the_picked_song_then_the_compared_ones():
    data = SongsData()
    assert page.shown_songs(data, "s2") == ["s2"]
    assert page.shown_songs(data, "s2", ["s1", "s2", "nope"]) == ["s2", "s1"]
    assert page.shown_songs(data, None, ["s1"]) == ["s1"]
    assert page.shown_songs(data, "nope") == []
