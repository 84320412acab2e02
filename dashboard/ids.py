"""Component ids, in one place (pages and components import them from here).

Ids are strings ``"<page>-<what>"``; pattern-matching ids are dicts built by the helpers below.
"""

from __future__ import annotations

# ---- app shell -------------------------------------------------------------------------------
URL = "app-url"
NAV = "app-nav"
#: Selection shared between pages (session storage): {"section_id", "run_id"}.
GLOBAL_SELECTION = "app-selection"


def selected(page: str) -> str:
    """``dcc.Store`` holding the section selected on ``page``: ``{"section_id": ..., "run_id": ...}``."""
    return f"{page}-selected"


def judge_container(page: str) -> str:
    """``html.Div`` in ``page``'s detail panel where the judging panel goes (issue 4)."""
    return f"{page}-judge"


def play(page: str, section_id: str) -> dict:
    """A button that selects and plays ``section_id`` on ``page`` (pattern-matching id)."""
    return {"type": "play", "page": page, "section": section_id}


def slot(page: str, name: str) -> dict:
    """Buttons putting the selected section into comparison slot ``name`` ("A" or "B")."""
    return {"type": "slot", "page": page, "slot": name}


# ---- map ---------------------------------------------------------------------------------------
MAP_SPACE = "map-space"
MAP_KIND = "map-kind"
MAP_RUN = "map-run"
MAP_COLOR = "map-color"
MAP_SONGS = "map-songs"
MAP_CLUSTERS = "map-clusters"
MAP_CENTRAL = "map-central"
MAP_CONF = "map-confidence"
MAP_GRAPH = "map-graph"
MAP_COUNT = "map-count"
MAP_SELECTION = "map-selection-summary"
MAP_DETAIL = "map-detail"
MAP_SLOTS = "map-slots"
MAP_SLOT_STORE = "map-slot-store"
MAP_SLOT_VIEW = "map-slot-view"

# ---- overview -------------------------------------------------------------------------------------
OVERVIEW_SPACE = "overview-space"
OVERVIEW_CURVES = "overview-curves"
OVERVIEW_RUNS = "overview-runs"

# ---- clusters -------------------------------------------------------------------------------------
CLUSTERS_RUN = "clusters-run"
CLUSTERS_CLUSTER = "clusters-cluster"
CLUSTERS_SIZES = "clusters-sizes"
CLUSTERS_BODY = "clusters-body"
CLUSTERS_DETAIL = "clusters-detail"

# ---- compare ------------------------------------------------------------------------------------
COMPARE_A = "compare-run-a"
COMPARE_B = "compare-run-b"
COMPARE_METRICS = "compare-metrics"
COMPARE_HEATMAP = "compare-heatmap"
COMPARE_SANKEY = "compare-sankey"
COMPARE_TABLE = "compare-table"
COMPARE_ONLY_DISAGREE = "compare-only-disagree"
COMPARE_DETAIL = "compare-detail"

# ---- songs --------------------------------------------------------------------------------------
SONGS_SONG = "songs-song"
SONGS_RUN = "songs-run"
SONGS_VIEW = "songs-view"
SONGS_TIMELINE = "songs-timeline"
SONGS_DETAIL = "songs-detail"
