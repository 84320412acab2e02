"""Words a musician can read (issue #23 item 6): one definition per feature that says what differs,
natural order wherever features are listed, SHAP sentences that point the way their bars point,
cluster names with confident tags only, no contradiction and no English word in a Spanish name,
and a plain line for every number on the Overview, on hover and in a list a tap opens."""

from __future__ import annotations

import gettext as gettext_module
import itertools
import re

import numpy as np
import pandas as pd
import pytest
from synthetic_store import build_synthetic_store

from sectionist.analysis.glossary import (
    BASE_TERMS,
    FEATURE_GLOSSARY,
    OPPOSITES,
    TAG_MIN_PROBABILITY,
    TAG_WORDS,
    contribution_text,
    default_cluster_names,
    describe,
    feature_order_key,
    mfcc_spacing,
    natural_key,
)
from sectionist.analysis.melscale import mel_frequencies
from sectionist.dashboard.ui import i18n_tools
from sectionist.dashboard.ui.figures import explain as explain_figures

ES = {"Accept-Language": "es-ES,es;q=0.9"}


@pytest.fixture(scope="module")
def spanish():
    """The compiled Spanish catalogue as a ``gettext`` callable (what the app serves)."""
    with i18n_tools.mo_path("es").open("rb") as fh:
        return gettext_module.GNUTranslations(fh).gettext


# ---- one definition per feature ------------------------------------------------------------------------
def test_every_feature_has_a_definition_of_its_own():
    definitions = [t.definition for t in FEATURE_GLOSSARY.values()]
    assert len(set(definitions)) == len(definitions)
    # what a feature is, said without the statistic: no two features share it either
    medians = {c: t.meaning for c, t in FEATURE_GLOSSARY.items() if c.endswith("_median")}
    assert len(set(medians.values())) == len(medians)


def test_overall_level_and_loudness_say_what_each_is_computed_from():
    loud, level, peak = (FEATURE_GLOSSARY[c] for c in ("rms_median", "mfcc1_median", "amplitude_envelope_median"))
    assert (loud.name, level.name) == ("loudness", "overall level")
    assert "root mean square" in loud.meaning and "bass" in loud.meaning
    assert "decibels" in level.meaning and "mel bands" in level.meaning and "unlike loudness" in level.meaning
    assert "largest sample" in peak.meaning
    assert len({loud.meaning, level.meaning, peak.meaning}) == 3


def test_each_timbre_detail_says_how_far_apart_its_peaks_are():
    """MFCC i is the DCT-II coefficient i-1 over the 128 log-mel bands: its cosine peaks every
    2·128/(i-1) bands. Measured here on the mel filters' own centre frequencies, independently of
    :func:`mfcc_spacing`."""
    from sectionist.analysis.sections.features import FeatureParams
    from sectionist.analysis.glossary import MFCC_MEL_BANDS, MFCC_TOP_HZ

    p = FeatureParams()
    assert (MFCC_MEL_BANDS, MFCC_TOP_HZ) == (p.n_mels, p.sr / 2)
    centres = mel_frequencies(p.n_mels + 2, fmax=p.sr / 2)[1:-1]  # librosa.filters.mel's band centres
    m = np.arange(p.n_mels)
    for i in range(4, 21):
        basis = np.cos(np.pi * (i - 1) * (m + 0.5) / p.n_mels)
        peaks = [j for j in range(1, p.n_mels - 1) if basis[j] > basis[j - 1] and basis[j] >= basis[j + 1]]
        above = [centres[j] for j in peaks if centres[j] >= 1000.0]
        low = [centres[j] for j in peaks if centres[j] < 1000.0]
        semitones, hz = mfcc_spacing(i)
        if len(above) >= 2:
            measured = 12 * np.log2(above[1] / above[0])
            assert abs(measured - semitones) <= 1.0, (i, measured, semitones)
        if len(low) >= 2:
            assert abs((low[1] - low[0]) - hz) <= 0.03 * hz + 10, (i, low[1] - low[0], hz)
        meaning = FEATURE_GLOSSARY[f"mfcc{i}_median"].meaning
        assert f"every {semitones} semitones above 1 kHz" in meaning and f"every {hz} Hz below" in meaning
    # coarse details describe wide regions, fine ones narrow resonances
    assert "wide regions" in FEATURE_GLOSSARY["mfcc4_median"].meaning
    assert "formants" in FEATURE_GLOSSARY["mfcc9_median"].meaning
    assert "narrow resonances" in FEATURE_GLOSSARY["mfcc18_median"].meaning
    assert len({FEATURE_GLOSSARY[f"mfcc{i}_median"].meaning for i in range(4, 21)}) == 17


# ---- natural order ----------------------------------------------------------------------------------------
def test_natural_order_reads_numbers_as_numbers():
    names = ["timbre detail 10", "timbre detail 4", "timbre detail 2", "Timbre detail 1", "brightness"]
    assert sorted(names, key=natural_key) == ["brightness", "Timbre detail 1", "timbre detail 2", "timbre detail 4",
                                              "timbre detail 10"]
    cols = ["mfcc10_median", "tempo_bpm", "mfcc2_median", "rms_median", "mfcc2_std", "loudness_lufs10",
            "loudness_lufs9"]
    assert sorted(cols, key=feature_order_key) == ["rms_median", "mfcc2_median", "mfcc2_std", "mfcc10_median",
                                                   "tempo_bpm", "loudness_lufs9", "loudness_lufs10"]


# ---- SHAP sentences and their bars ------------------------------------------------------------------------
def _bars(fig):
    bar = fig.data[0]
    return list(zip(bar.x, bar.text))


def test_same_words_never_point_opposite_ways_the_testers_case():
    """Brightness above the median and the spectral tilt below it both read "brighter than usual";
    both push towards the cluster, so both bars point right (they used to point opposite ways)."""
    shap = {"spectral_centroid_median": 0.30, "mfcc2_median": 0.20}
    values = {"spectral_centroid_median": 3000.0, "mfcc2_median": -5.0}
    medians = {"spectral_centroid_median": 2000.0, "mfcc2_median": 10.0}
    bars = _bars(explain_figures.shap_bars(shap, feature_values=values, medians=medians))
    assert [t for _x, t in bars] == ["brighter than usual → towards this cluster"] * 2
    assert all(x > 0 for x, _t in bars)
    # the same two, pushing away: both left, both say so
    bars = _bars(explain_figures.shap_bars({k: -v for k, v in shap.items()}, feature_values=values, medians=medians))
    assert [t for _x, t in bars] == ["brighter than usual → away from this cluster"] * 2
    assert all(x < 0 for x, _t in bars)


def test_a_sentence_always_matches_its_bar(rng):
    cols = [c for c in FEATURE_GLOSSARY if c.endswith("_median")]
    for _trial in range(40):
        chosen = list(rng.choice(cols, 10, replace=False))
        shap = dict(zip(chosen, rng.normal(0, 0.2, 10)))
        values = dict(zip(chosen, rng.normal(0, 1, 10)))
        medians = dict(zip(chosen, rng.normal(0, 1, 10)))
        bars = _bars(explain_figures.shap_bars(shap, feature_values=values, medians=medians))
        for x, text in bars:
            assert ("towards" in text) == (x >= 0) and ("away from" in text) == (x < 0), (x, text)
        for (x1, t1), (x2, t2) in itertools.combinations(bars, 2):
            if t1 == t2:
                assert (x1 >= 0) == (x2 >= 0), (t1, x1, x2)
    # the sentence comes from the SHAP sign and the side of the median, nothing else
    assert contribution_text("mfcc2_median", 0.1, False) == "brighter than usual → towards this cluster"
    assert contribution_text("mfcc2_median", -0.1, True) == "darker than usual → away from this cluster"


# ---- cluster names ----------------------------------------------------------------------------------------
def test_a_tag_joins_a_name_only_above_the_confidence_threshold():
    z = pd.DataFrame({"rms_median": [2.0]}, index=[0])
    assert TAG_MIN_PROBABILITY == 0.5
    assert default_cluster_names(z, {0: ("indie", 0.49)}) == {0: "loud"}
    assert default_cluster_names(z, {0: ("indie", TAG_MIN_PROBABILITY)}) == {0: "loud · indie"}
    assert default_cluster_names(z, {0: ("indie", float("nan"))}) == {0: "loud"}
    # a tag with no words of its own (so no translation) never enters a name
    assert default_cluster_names(z, {0: ("bass", 0.9)}) == {0: "loud"}
    # a cluster with no adjective and only an unsure tag has no name: it is shown by its number
    flat = pd.DataFrame({"mfcc6_median": [3.0]}, index=[0])
    assert default_cluster_names(flat, {0: ("80s", 0.3)}) == {}


def test_every_musicnn_tag_has_name_words():
    from sectionist.analysis.embeddings.musicnn import MSD_LABELS, MTT_LABELS

    assert set(MSD_LABELS) | set(MTT_LABELS) == set(TAG_WORDS)


def test_names_never_hold_two_opposite_words(rng):
    words = {w for t in FEATURE_GLOSSARY.values() for w in (t.high_word, t.low_word) if w} | set(TAG_WORDS.values())
    assert set().union(*OPPOSITES) <= words  # the table names words that names use
    z = pd.DataFrame({"spectral_bandwidth_median": [2.0, -2.0], "spectral_rolloff_median": [1.5, -1.5]}, index=[0, 1])
    assert default_cluster_names(z) == {0: "dense", 1: "sparse · muffled"}  # not "dense · airy"
    cols = [c for c, t in FEATURE_GLOSSARY.items() if t.high_word or t.low_word]
    tags = list(TAG_WORDS)
    for _trial in range(30):
        z = pd.DataFrame(rng.normal(0, 1.5, (8, len(cols))), columns=cols)
        top = {c: (tags[int(rng.integers(len(tags)))], 0.9) for c in range(8)}
        for name in default_cluster_names(z, top, n_words=4).values():
            parts = re.sub(r" \(\d+\)$", "", name).split(" · ")
            for a, b in itertools.combinations(parts, 2):
                assert frozenset((a, b)) not in OPPOSITES, name


#: Words Spanish writes as English does: genre names the Spanish dictionary (DLE) takes as they are,
#: and words spelt the same in both languages. A Spanish name may hold these, and no other English word.
SHARED_WORDS = {"rock", "pop", "jazz", "soul", "folk", "punk", "blues", "funk", "country", "heavy", "metal", "hip",
                "hop", "house", "electro", "r&b", "piano", "sitar", "solo", "instrumental", "experimental", "tonal",
                "coral"}


def test_spanish_names_hold_no_english_word(spanish, rng):
    english_words = set()
    for text in [w for t in FEATURE_GLOSSARY.values() for w in (t.high_word, t.low_word) if w] + list(TAG_WORDS.values()):
        assert spanish(text) != text or set(text.lower().split()) <= SHARED_WORDS, f"{text!r} has no Spanish"
        english_words |= set(text.lower().split())
    english_only = english_words - SHARED_WORDS
    cols = [c for c, t in FEATURE_GLOSSARY.items() if t.high_word or t.low_word]
    tags = list(TAG_WORDS)
    seen = set()
    for trial in range(40):
        z = pd.DataFrame(rng.normal(0, 1.5, (6, len(cols))), columns=cols)
        top = {c: (tags[(trial * 6 + c) % len(tags)], 0.9) for c in range(6)}
        for name in default_cluster_names(z, top, n_words=4, gettext=spanish).values():
            tokens = set(re.sub(r" \(\d+\)$", "", name).lower().replace(" · ", " ").split())
            assert not tokens & english_only, (name, tokens & english_only)
            seen |= tokens
    assert {"años", "independiente", "voz"} <= seen  # the tags were translated, not only the adjectives
    assert default_cluster_names(pd.DataFrame({"rms_median": [2.0]}), {0: ("80s", 0.8)}, gettext=spanish) == \
        {0: "fuerte · años 80"}
    assert default_cluster_names(pd.DataFrame({"rms_median": [2.0]}), {0: ("indie", 0.8)}, gettext=spanish) == \
        {0: "fuerte · independiente"}


# ---- the app: names from the store, the Overview's numbers explained --------------------------------------
@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from sectionist.dashboard.app import create_app

    root = tmp_path_factory.mktemp("words")
    store = build_synthetic_store(root / "store", n_sections=40, sections_per_song=10, section_seconds=2.0,
                                  random_state=3)
    return create_app(store.uri, db_url=f"sqlite:///{root / 'users.sqlite'}", secret_key="w" * 40)


@pytest.fixture(scope="module")
def data(app):
    return app.server.extensions["sectionist_data"]


def test_store_tags_below_the_threshold_stay_out_of_names(app, data):
    from sectionist.dashboard.ui import naming

    run = data.runs.index[0]
    sure = data.cluster_top_tags(run)
    guesses = data.cluster_top_tags(run, min_probability=0.0)
    assert all(p >= TAG_MIN_PROBABILITY for _t, p in sure.values())
    assert any(p < TAG_MIN_PROBABILITY for _t, p in guesses.values())  # the store has guesses to keep out
    adjectives = {w for t in BASE_TERMS.values() for w in (t.high_word, t.low_word) if w}
    with app.server.test_request_context("/", headers=ES):
        names = naming.default_cluster_names(data, run)
    with app.server.test_request_context("/"):
        english = naming.default_cluster_names(data, run)
    for c, (tag, p) in guesses.items():
        parts = english[c].split(" · ")
        if p < TAG_MIN_PROBABILITY and TAG_WORDS.get(tag) not in adjectives:
            assert TAG_WORDS.get(tag, tag) not in parts, (english[c], tag, p)
    for c, (tag, _p) in sure.items():
        assert TAG_WORDS[tag] in english[c].split(" · ") or TAG_WORDS[tag] in english[c]
    assert names != english  # and the Spanish ones are Spanish (the rule is tested above)


def test_map_and_clusters_list_features_in_natural_order(app, data):
    import plotly.io.json as pj

    from sectionist.dashboard.pages import clusters as clusters_page, map as map_page

    with app.server.test_request_context("/"):
        options = [o["value"].removeprefix("feature:") for o in map_page.color_options(data)
                   if o["value"].startswith("feature:")]
        body = pj.to_json_plotly(clusters_page.cluster_body(data, data.runs.index[0], 0))
    assert options == sorted(options, key=feature_order_key)
    assert options.index("mfcc2_median") < options.index("mfcc10_median")
    glossary = body[body.index("What these features mean"):]
    shown = re.findall(r'\{"props":\{"children":"([^"]+)"\},"type":"B"', glossary)  # the bold feature names
    assert len(shown) >= 5 and shown == sorted(shown, key=natural_key), shown


METRIC_COLUMNS = ["strength", "one_song", "silhouette", "davies_bouldin", "calinski_harabasz", "bic", "stability_ari",
                  "fidelity", "ari_truth", "nmi_truth"]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_number_on_the_overview_is_explained(app, data, lang):
    """Each measure of the runs table has its line as the header's tooltip and in the folded list
    "What these numbers mean" (a phone has no hover); the K curves have theirs too; in both
    languages."""
    import dash
    import plotly.io.json as pj

    from sectionist.dashboard.ui import metrics
    from sectionist.dashboard.pages import overview

    headers = ES if lang == "es" else {}
    page = next(p for p in dash.page_registry.values() if p["path"] == "/")
    with app.server.test_request_context("/", headers=headers):
        layout = page["layout"]()
        lines = {m: metrics.explain(m) for m in (*METRIC_COLUMNS, "inertia")}
        _rows, cols = overview.runs_table_data(data)
    table = next(c for c in _walk(layout) if getattr(c, "id", None) == "overview-runs")
    shown = {c["id"] for c in table.columns}
    assert set(METRIC_COLUMNS) <= shown
    for m in METRIC_COLUMNS:
        assert table.tooltip_header[m]["value"] == lines[m]
    legends = [c for c in _walk(layout) if "metrics-legend" in (getattr(c, "className", None) or "")]
    assert len(legends) == 2  # the runs table's and the K curves'
    text = pj.to_json_plotly(layout)
    for m in (*METRIC_COLUMNS, "inertia"):
        assert lines[m] and lines[m] in text, m
    if lang == "es":
        assert "Qué significan estos números" in text and "What these numbers mean" not in text
        assert "cuánto más cerca está cada sección de su propio grupo" in lines["silhouette"]
        assert "índice de Rand ajustado" in lines["ari_truth"] and "información mutua normalizada" in lines["nmi_truth"]
        assert "al menos el 50\xa0%" in lines["one_song"]  # the locale's percent, no bare placeholder
    else:
        assert "What these numbers mean" in text
        assert "Davies–Bouldin" in text and "davies_bouldin" in shown
    # the strength legend says silhouette and stability with the same lines (said once)
    from sectionist.dashboard.ui import strength as strength_words

    with app.server.test_request_context("/", headers=headers):
        legend = " ".join(strength_words.bands_explained())
        stability = metrics.explain("stability_ari")
    assert lines["silhouette"] in legend and stability in legend


def _walk(component):
    yield component
    children = getattr(component, "children", None)
    if children is None:
        return
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            yield from _walk(child)


def test_the_detail_panel_shows_tags_in_the_readers_language(app, data):
    import plotly.io.json as pj

    from sectionist.analysis.glossary import tag_label
    from sectionist.dashboard.ui.components.detail import section_detail
    from sectionist.dashboard.ui.i18n import _

    run = data.runs.index[0]
    sid = next(str(s) for s in data.section_ids if set(data.tags(s)["tag"]) & {"male", "female", "loud", "slow"})
    tags = list(data.tags(sid)["tag"])
    with app.server.test_request_context("/", headers=ES):
        es = pj.to_json_plotly(section_detail(data, sid, run, "map"))
        shown = [tag_label(t, _) for t in tags]
    assert any(s != t for s, t in zip(shown, tags))  # some were translated ("male" → "voz masculina")
    for s, t in zip(shown, tags):
        assert f'"children":"{s}"' in es and f'"title":"{t}"' in es  # the words shown, the raw tag on hover
    assert tag_label("80s") == "80s" and tag_label("bass") == "bass"
