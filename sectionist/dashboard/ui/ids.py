"""Every Dash component id of the web app, grouped per page.

Pages (``sectionist/dashboard/pages``) and components (``sectionist/dashboard/ui/components``) take their ids from here
and never spell one themselves (``tests/test_dashboard_layout.py`` checks it). Plain ids are
strings ``"<page>-<what>"``; ids that depend on the page are built by the functions below;
pattern-matching ids are dicts whose ``"type"`` is one of the ``*_TYPE`` names here.

Browser tests and ``assets/*.js`` select some of these ids by value (``#songs-detail``,
``#judge-audio``, ``#judge-start``…): change a value only together with them.
"""

from __future__ import annotations

from dash import ALL

# ---- app shell -------------------------------------------------------------------------------
URL = "app-url"
NAV = "app-nav"
NAV_TOGGLE = "app-nav-toggle"
NAV_MENU = "app-nav-menu"
NAV_ADMIN_USERS = "app-nav-admin-users"
#: The top bar's link to one's playlist links (/playlists: see and revoke them).
NAV_PLAYLISTS = "app-nav-playlists"
#: The language switch in the nav (links to ``/lang/<code>``).
NAV_LANGUAGES = "app-nav-languages"
#: The notice above every page naming the store's damaged parts (and what a failed callback hit).
STORE_NOTICE = "app-store-notice"


def language_link(code: str) -> str:
    """The nav link that switches to language ``code``."""
    return f"lang-{code}"

#: The shell's alert: why a callback ignored what the page sent (``ui/inputs.py``).
INPUT_ALERT = "app-input-alert"

#: Selection shared between pages (session storage): {"section_id", "run_id"}.
GLOBAL_SELECTION = "app-selection"

# ---- per page: selection, detail panel, player --------------------------------------------------
#: Pattern-matching id types (the ``"type"`` of dict ids).
PLAY_TYPE = "play"
SLOT_TYPE = "slot"


def selected(page: str) -> str:
    """``dcc.Store`` holding the section selected on ``page``: ``{"section_id": ..., "run_id": ...}``."""
    return f"{page}-selected"


def judge_container(page: str) -> str:
    """``html.Div`` in ``page``'s detail panel where the judging panel goes."""
    return f"{page}-judge"


def audio(page: str) -> str:
    """The ``<audio>`` element of ``page``'s section player (``assets/judging.js`` plays ``judge-audio``)."""
    return f"{page}-audio"


def click(graph: str) -> str:
    """``dcc.Store`` receiving the clicked point of the graph ``graph`` (see ``components.selection``)."""
    return f"{graph}-click"


def play(page: str, section_id) -> dict:
    """A ▶ button that selects and plays ``section_id`` on ``page`` (``ALL``: every such button)."""
    return {"type": PLAY_TYPE, "page": page, "section": section_id}


def slot(page: str, name) -> dict:
    """Buttons putting the selected section into comparison slot ``name`` ("A", "B" or ``ALL``)."""
    return {"type": SLOT_TYPE, "page": page, "slot": name}


# ---- judging panel (components/judging.py) -------------------------------------------------------
def judge_panel(kind: str, page: str, **extra) -> dict:
    """Id of one element ``kind`` of ``page``'s judging panel: type ``"judge-<kind>"``.

    Singletons carry ``k=0`` so that callbacks can name them with the ``ALL`` wildcard
    (:func:`judge_panel_all`): the panel is rendered later than the page, and the Dash renderer
    refuses a callback whose exact dict-id input is not in the page yet.
    """
    return {"type": f"judge-{kind}", "page": page, **(extra or {"k": 0})}


def judge_panel_all(kind: str, page: str) -> dict:
    """Wildcard id matching the element ``kind`` of ``page``'s judging panel when it is there."""
    return {"type": f"judge-{kind}", "page": page, "k": ALL}


# ---- overview -----------------------------------------------------------------------------------
OVERVIEW_SPACE = "overview-space"
OVERVIEW_CURVES = "overview-curves"
OVERVIEW_RUNS = "overview-runs"
#: location that a click in the runs table navigates with (to that run's clusters)
OVERVIEW_GOTO = "overview-goto"

# ---- map ----------------------------------------------------------------------------------------
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
#: the drawn map's space, projection and selection-ring trace (for the ring patch)
MAP_META = "map-meta"
MAP_SELECTION = "map-selection-summary"
#: the page of the selection's section list (server-paged: a selection may hold a million sections)
MAP_SELECTION_PAGE = "map-selection-page"
MAP_SELECTION_PREV = "map-selection-prev"
MAP_SELECTION_NEXT = "map-selection-next"
#: The ‹ › pager of the selection list (shown only when the selection fills more than one page).
MAP_SELECTION_PAGER = "map-selection-pager"
MAP_DETAIL = "map-detail"
MAP_SLOT_STORE = "map-slot-store"
MAP_SLOT_VIEW = "map-slot-view"

# ---- clusters -----------------------------------------------------------------------------------
CLUSTERS_RUN = "clusters-run"
CLUSTERS_RUN_NOTE = "clusters-run-note"
CLUSTERS_CLUSTER = "clusters-cluster"
CLUSTERS_SIZES = "clusters-sizes"
CLUSTERS_BODY = "clusters-body"
CLUSTERS_DETAIL = "clusters-detail"
#: The cluster's name (custom else default) in its header, and the experts' rename control.
CLUSTERS_NAME = "clusters-name"
CLUSTERS_RENAME_INPUT = "clusters-rename-input"
CLUSTERS_RENAME_SAVE = "clusters-rename-save"
CLUSTERS_RENAME_STATUS = "clusters-rename-status"

# ---- compare ------------------------------------------------------------------------------------
COMPARE_A = "compare-run-a"
COMPARE_B = "compare-run-b"
COMPARE_METRICS = "compare-metrics"
COMPARE_HEATMAP = "compare-heatmap"
COMPARE_SANKEY = "compare-sankey"
COMPARE_TABLE = "compare-table"
COMPARE_TABLE_NOTE = "compare-table-note"
COMPARE_ONLY_DISAGREE = "compare-only-disagree"
COMPARE_DETAIL = "compare-detail"

# ---- songs --------------------------------------------------------------------------------------
SONGS_SONG = "songs-song"
#: the songs to line up under the picked one (the picker itself always replaces the song shown)
SONGS_COMPARE = "songs-compare"
SONGS_RUN = "songs-run"
SONGS_VIEW = "songs-view"
SONGS_TIMELINE = "songs-timeline"
SONGS_DETAIL = "songs-detail"

# ---- judge (the guided session) -------------------------------------------------------------------
JUDGE_QUEUE = "judge-queue"
JUDGE_RUN = "judge-run"
JUDGE_STRATEGY = "judge-strategy"
JUDGE_OTHER = "judge-other-run"
JUDGE_BLIND = "judge-blind"
JUDGE_SIZE = "judge-size"
JUDGE_START = "judge-start"
JUDGE_PREV = "judge-prev"
JUDGE_NEXT = "judge-next"
JUDGE_ITEM = "judge-item"
JUDGE_PROGRESS = "judge-progress"
JUDGE_PAIR_BAR = "judge-pair-bar"
JUDGE_PAIR_SAME = "judge-pair-same"
JUDGE_PAIR_DIFFERENT = "judge-pair-different"
JUDGE_PAIR_NOTE = "judge-pair-note"


def pair_audio(letter: str) -> str:
    """Id of the player of side ``letter`` (A or B) of the Judge page's pair."""
    return f"judge-pair-audio-{letter.lower()}"


#: Shown by assets/judging.js while a verdict key waits for its section's panel, and when one could
#: not be applied (its section never arrived).
JUDGE_KEY_WAIT = "judge-key-wait"
JUDGE_KEY_LOST = "judge-key-lost"

# ---- judgements (the verdicts' statistics) ---------------------------------------------------------
JUDGEMENTS_BODY = "judgements-body"
JUDGEMENTS_REFRESH = "judgements-refresh"
JUDGEMENTS_ADMIN_USERS = "judgements-admin-users"
JUDGEMENTS_PER_RUN = "judgements-per-run"
JUDGEMENTS_DIFFERENCES = "judgements-differences"
JUDGEMENTS_PER_CLUSTER = "judgements-per-cluster"
JUDGEMENTS_PROGRESS = "judgements-progress"
JUDGEMENTS_KAPPA = "judgements-kappa"
JUDGEMENTS_DISPUTED = "judgements-disputed"
JUDGEMENTS_CLUSTER_VERDICTS = "judgements-cluster-verdicts"
JUDGEMENTS_VERSIONS = "judgements-versions"
JUDGEMENTS_CARRY_OVER = "judgements-carry-over"
JUDGEMENTS_GUIDE_RUN = "judgements-guide-run"
JUDGEMENTS_GUIDE_BOX = "judgements-guide-box"

# ---- exports (download buttons; sectionist/dashboard/media/downloads.py) -------------------------------------------
CLUSTERS_EXPORT_KIND = "clusters-export-kind"
CLUSTERS_EXPORT_RUN = "clusters-export-run"
CLUSTERS_EXPORT_QUEUE = "clusters-export-queue"
CLUSTERS_EXPORT_PLAYLIST = "clusters-export-playlist"
#: Which kind of VLC playlist the cluster's playlist is (links that play anywhere, or corpus paths).
CLUSTERS_EXPORT_LINKS = "clusters-export-links"
CLUSTERS_DOWNLOAD = "clusters-download"
SONGS_EXPORT_KIND = "songs-export-kind"
SONGS_EXPORT = "songs-export"
SONGS_DOWNLOAD = "songs-download"
MAP_EXPORT_KIND = "map-export-kind"
MAP_EXPORT = "map-export"
MAP_DOWNLOAD = "map-download"
#: The map's box/lasso selection resolved to section positions in the browser ({"rows": [...], "n": points}).
MAP_SELECTION_ROWS = "map-selection-rows"

# ---- sound tracks (Songs page, view "sounds") --------------------------------------------------------
#: The player of a clicked sound-track block (a span of a song, not a section).
SONGS_SPAN_PLAYER = "songs-span-player"
SONGS_SPAN_AUDIO = "songs-span-audio"
#: Show the NMF component tracks as well.
SONGS_SOUND_NMF = "songs-sound-nmf"
#: Under the Sounds view: the songs without sound tracks, and the admin's button that computes them.
SONGS_SOUNDS_JOB = "songs-sounds-job"

# ---- what the network hears (Clusters page; sectionist saliency) ------------------------------------
#: The cluster's saliency heatmap of a musicnn run, or the note that it applies to musicnn runs only.
CLUSTERS_SALIENCY = "clusters-saliency"
CLUSTERS_SALIENCY_NOTE = "clusters-saliency-note"

# ---- background jobs an admin starts from a page (components/jobs.py, sectionist.dashboard.jobs) ---
def job_part(part: str, page: str) -> dict:
    """Id of one element ``part`` (``start``, ``status``, ``poll``, ``target``) of ``page``'s job box:
    type ``"job-<part>"``, ``k=0`` so callbacks name it with ``ALL`` (:func:`job_part_all`): the box
    is rendered by a callback, after the page."""
    return {"type": f"job-{part}", "page": page, "k": 0}


def job_part_all(part: str, page: str) -> dict:
    """Wildcard id matching the element ``part`` of ``page``'s job box when it is there."""
    return {"type": f"job-{part}", "page": page, "k": ALL}


def job_done(page: str) -> str:
    """``dcc.Store`` in ``page``'s layout set when a job started there has finished well: the page
    redraws what the job made."""
    return f"{page}-job-done"


# ---- segmentation lab (pages/lab.py) ----------------------------------------------------------------
LAB_SONG = "lab-song"
LAB_THRESHOLD = "lab-threshold"
LAB_MIN_SLICE = "lab-min-slice"
LAB_MERGE = "lab-merge"
LAB_WINDOW = "lab-window"
LAB_K = "lab-k"
LAB_MIN_SEGMENT = "lab-min-segment"
#: "12 slices before merging, 5 segments after" (browser tests read it).
LAB_COUNTS = "lab-counts"
LAB_NOVELTY = "lab-novelty"
#: The pre-merge and post-merge lanes; a click on a block plays it.
LAB_LANES = "lab-lanes"
LAB_PLAYER = "lab-player"
LAB_AUDIO = "lab-audio"
LAB_SAVE_NAME = "lab-save-name"
LAB_SAVE = "lab-save"
LAB_SAVE_STATUS = "lab-save-status"
#: The Lab's structure corrections (the Songs page's panel, ui/components/corrections.py, on the Lab):
#: the same parts as SONGS_CORRECT_*, and the chosen structure's versions as lanes, clicked to pick.
LAB_CORRECT = "lab-correct"
LAB_CORRECT_SCHEME = "lab-correct-scheme"
LAB_CORRECT_KIND = "lab-correct-kind"
LAB_CORRECT_CLICK = "lab-correct-click"
LAB_CORRECT_PICKS = "lab-correct-picks"
LAB_CORRECT_PICKED = "lab-correct-picked"
LAB_CORRECT_SEND = "lab-correct-send"
LAB_CORRECT_CLEAR = "lab-correct-clear"
LAB_CORRECT_STATUS = "lab-correct-status"
LAB_CORRECT_JOB = "lab-correct-job"
LAB_CORRECT_POLL = "lab-correct-poll"
LAB_CORRECT_VERSIONS = "lab-correct-versions"
LAB_CORRECT_LANES = "lab-correct-lanes"
#: The evaluation card of the Overview (mean scores per segmentation scheme against the truth).
OVERVIEW_EVALUATION = "overview-evaluation"

# ---- how strong a grouping is (issue #21; ui/strength.py) --------------------------------------------
#: The Overview's verdict on the store's runs (a warning when the best or the first-shown run is weak).
OVERVIEW_STRENGTH = "overview-strength"
#: The Clusters page's verdict on the chosen run, and on the chosen cluster.
CLUSTERS_STRENGTH = "clusters-strength"
CLUSTERS_CLUSTER_STRENGTH = "clusters-cluster-strength"
#: The Songs page's list of how strong each shown song's structures are.
SONGS_STRUCTURE = "songs-structure"
# ---- the Songs page's structure corrections (issue #22; ui/components/corrections.py, assets/corrections.js) --
#: The expert's panel under the lanes: which structure, what is wrong, what the clicks picked, Send.
SONGS_CORRECT = "songs-correct"
SONGS_CORRECT_SCHEME = "songs-correct-scheme"
SONGS_CORRECT_KIND = "songs-correct-kind"
#: Written by assets/corrections.js on a click on the timeline: ``{"time", "lane", "n"}``.
SONGS_CORRECT_CLICK = "songs-correct-click"
#: What is picked so far: ``{"song_id", "scheme", "kind", "times"}``.
SONGS_CORRECT_PICKS = "songs-correct-picks"
SONGS_CORRECT_PICKED = "songs-correct-picked"
SONGS_CORRECT_SEND = "songs-correct-send"
SONGS_CORRECT_CLEAR = "songs-correct-clear"
SONGS_CORRECT_STATUS = "songs-correct-status"
#: The correction sent and its recompute job: ``{"job_id", "song_id", "scheme", "payload", "waiting"}``.
SONGS_CORRECT_JOB = "songs-correct-job"
SONGS_CORRECT_POLL = "songs-correct-poll"
#: The versions of the chosen structure, one lane each (the older ones stay readable).
SONGS_CORRECT_VERSIONS = "songs-correct-versions"
#: The Map's legend of song colours (colour by song).
MAP_SONG_LEGEND = "map-song-legend"
