"""Every table of a store: its name, its part key, its columns and their types, in one place.

This module is the only place a table name, a column list or a part key is written. Code reads
and writes tables through the :class:`Table` constants below (``store.read_table(SONGS)``,
``store.write_part(FRAMES, FRAMES.part(embedder="musicnn", song_id=sid), df)``), and
:meth:`Store.write_part` conforms every part to its table's declared types, so that the parts of a
table agree and the table opens whole in pandas, pyarrow datasets and DuckDB.

``docs/store.md`` is generated from :func:`markdown` (``python -m sectionist.store.schema > docs/store.md``
rewrites its table section; a test checks that the two agree).

Some tables have columns whose names follow a pattern (``e0 … e{D-1}`` of an embedder's frames,
``<feature>_<stat>`` of the features table): they are declared as :class:`Dynamic` column families.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from sectionist.store.errors import StoreError

#: Written into every part's parquet metadata and into ``manifest.json``.
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"

_STR = pa.large_string()
_F64 = pa.float64()
_F32 = pa.float32()
_I64 = pa.int64()
_I32 = pa.int32()
_BOOL = pa.bool_()


@dataclass(frozen=True)
class Column:
    """A declared column. ``default`` fills it when reading a part written before the column existed
    (``"=<column>"`` copies another column of the part)."""

    name: str
    type: pa.DataType
    doc: str = ""
    default: object = None


@dataclass(frozen=True)
class Dynamic:
    """A family of columns whose names match ``pattern`` (a regular expression)."""

    pattern: str
    type: pa.DataType
    doc: str

    def matches(self, name: str) -> bool:
        return re.fullmatch(self.pattern, name) is not None


class Table(str):
    """A table name (it is a ``str``) that also knows its part key and its columns.

    Parameters
    ----------
    name : str
        The table's folder name under the store root.
    part : str
        The part key template, e.g. ``"{song_id}"`` or ``"{embedder}/{song_id}"``.
    columns : list of Column
        The fixed columns, in order.
    dynamic : list of Dynamic
        Families of columns named by a pattern, after the fixed ones.
    doc : str
        One line on what a row is.
    """

    part_template: str
    columns: tuple
    dynamic: tuple
    doc: str

    def __new__(cls, name: str, *, part: str, columns, dynamic=(), doc: str = ""):
        obj = super().__new__(cls, name)
        obj.part_template = part
        obj.columns = tuple(columns)
        obj.dynamic = tuple(dynamic)
        obj.doc = doc
        return obj

    def __reduce__(self):
        # pickled as its name (to worker processes): unpickled as the declared table
        return (table, (str(self),))

    @property
    def name(self) -> str:
        return str(self)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def part_fields(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.part_template)

    def part(self, **keys) -> str:
        """The part name for ``keys`` (e.g. ``FRAMES.part(embedder="musicnn", song_id=sid)``)."""
        wanted = set(self.part_fields)
        if set(keys) != wanted:
            raise StoreError(f"table {self}: part key needs {sorted(wanted)}, got {sorted(keys)}")
        for k, v in keys.items():
            v = str(v)
            if not v or "/" in v or v.startswith("."):
                raise StoreError(f"table {self}: bad {k} {v!r} for a part key")
        return self.part_template.format(**{k: str(v) for k, v in keys.items()})

    def parse_part(self, part: str) -> dict:
        """The inverse of :meth:`part`: ``{field: value}`` for a part name of this table."""
        rx = re.escape(self.part_template)
        for f in self.part_fields:
            rx = rx.replace(re.escape("{" + f + "}"), f"(?P<{f}>[^/]+?)")
        m = re.fullmatch(rx, part)
        if not m:
            raise StoreError(f"table {self}: {part!r} is not a part name ({self.part_template})")
        return m.groupdict()

    def parts_where(self, parts, **keys) -> list[str]:
        """The part names among ``parts`` whose fields equal ``keys`` (e.g. one embedder's frames)."""
        out = []
        for p in parts:
            try:
                fields = self.parse_part(p)
            except StoreError:
                continue
            if all(fields.get(k) == str(v) for k, v in keys.items()):
                out.append(p)
        return out

    def column_type(self, name: str) -> pa.DataType | None:
        for c in self.columns:
            if c.name == name:
                return c.type
        for d in self.dynamic:
            if d.matches(name):
                return d.type
        return None

    def fill_defaults(self, tbl: pa.Table) -> pa.Table:
        """``tbl`` with each column that has a declared default and that ``tbl`` lacks added.

        Older stores predate some columns (e.g. run versions): they read as if written with the
        defaults. Columns without a default are never invented.
        """
        for c in self.columns:
            if c.default is None or c.name in tbl.column_names:
                continue
            if isinstance(c.default, str) and c.default.startswith("="):
                src = c.default[1:]
                if src not in tbl.column_names:
                    continue
                col = tbl.column(src).cast(c.type)
            else:
                col = pa.array([c.default] * tbl.num_rows, type=c.type, from_pandas=True)  # NaN → null
            tbl = tbl.append_column(pa.field(c.name, c.type), col)
        return tbl

    def conform(self, tbl: pa.Table) -> pa.Table:
        """``tbl`` with every column cast to its declared type; an undeclared column is an error."""
        fields, arrays = [], []
        for name, col in zip(tbl.column_names, tbl.columns):
            want = self.column_type(name)
            if want is None:
                raise StoreError(f"table {self}: column {name!r} is not declared in sectionist.store.schema")
            if col.type != want:
                try:
                    col = col.cast(want)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise StoreError(f"table {self}: column {name!r} of type {col.type} "
                                     f"cannot be stored as {want} ({exc})") from None
            fields.append(pa.field(name, want))
            arrays.append(col)
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=tbl.schema.metadata))


#: The default of a column that older parts lack and read as null (a float NaN: ``None`` means no default).
_NULL = float("nan")


def _c(name, type_, doc="", default=None):
    return Column(name, type_, doc, default)


_RUN_METRICS = [
    _c("silhouette", _F64), _c("davies_bouldin", _F64), _c("calinski_harabasz", _F64), _c("bic", _F64),
    _c("stability_ari", _F64, "mean ARI of refits on resamples"),
    _c("fidelity", _F64, "accuracy of the explaining surrogate model"),
    _c("ari_truth", _F64), _c("nmi_truth", _F64),
]

SONGS = Table("songs", part="{song_id}", doc="one row per analysed song; written last, so its part marks a finished song", columns=[
    _c("song_id", _STR, "16 hex of the file's SHA-256"),
    _c("uri", _STR, "absolute path or s3:// URI of the original"),
    _c("title", _STR), _c("format", _STR), _c("duration_s", _F64),
    _c("sample_rate", _I64, "original"), _c("channels", _I64), _c("analysis_sr", _I64),
    _c("tempo_bpm", _F64), _c("n_sections", _I64),
    _c("analyzed_with", _STR, "config hash"),
    _c("content_hash", _STR, "full SHA-256"),
    _c("truth_path", _STR, "ground-truth JSON beside the audio, or null"),
    _c("embedders", _STR, "comma-separated embedders whose frames are stored"),
])

SECTIONS = Table("sections", part="{song_id}", doc="one row per section of a song", columns=[
    _c("section_id", _STR, '"{song_id}-{index:05d}"'), _c("song_id", _STR), _c("scheme", _STR),
    _c("index", _I32), _c("start_s", _F64), _c("end_s", _F64), _c("is_central", _BOOL),
    _c("rank", _I32, "1 = most central; −1 = unranked, e.g. 0/0 ratio"),
    _c("truth_label", _STR, "label of the ground-truth segment that overlaps the section most, or null"),
])

FEATURES = Table("features", part="{song_id}", doc="classical features of each section", columns=[
    _c("section_id", _STR), _c("song_id", _STR),
], dynamic=[
    Dynamic(r"[a-z_]+\d*_(median|mean|std)", _F32, "`<feature>_<stat>` for stat in median/mean/std"),
    Dynamic(r"tempo_bpm", _F32, "tempo_bpm"),
])

MELSPEC = Table("melspec", part="{song_id}", doc="a section's mean log-mel spectrum in dB, for cluster spectrum images", columns=[
    _c("section_id", _STR), _c("song_id", _STR),
], dynamic=[Dynamic(r"mel\d+", _F32, "mel0..mel{n_mels−1}")])

FRAMES = Table("frames", part="{embedder}/{song_id}", doc="an embedder's vectors, one row per frame", columns=[
    _c("song_id", _STR), _c("section_id", _STR), _c("embedder", _STR), _c("start_s", _F64), _c("end_s", _F64),
], dynamic=[Dynamic(r"e\d+", _F32, "e0..e{D−1}")])

TAGS = Table("tags", part="{model}/{song_id}", doc="a tagging model's top tags of each section", columns=[
    _c("section_id", _STR), _c("song_id", _STR), _c("model", _STR), _c("rank", _I32, "1 = top"),
    _c("tag", _STR), _c("probability", _F32, "mean over the section's patches; top 10 kept"),
])

RUNS = Table("runs", part="{run_id}", doc="one row per clustering run", columns=[
    _c("run_id", _STR), _c("space", _STR), _c("method", _STR), _c("scaling", _STR),
    _c("level", _STR, "section/frame/section-mean"), _c("k", _I64), _c("seed", _I64),
    _c("params", _STR, "JSON"), *_RUN_METRICS, _c("n_sections", _I64), _c("n_clusters", _I64),
    _c("curves", _STR, "JSON: k, inertia, silhouette, bic"), _c("created_at", _STR), _c("label", _STR),
    _c("seconds", _F64),
    # versions: a run id is never refitted; a refit is a new run id "{lineage}~v{version}"
    _c("lineage", _STR, "run id of the first version (absent in older stores: the run id itself)", "=run_id"),
    _c("version", _I64, "1, 2, … within the lineage (absent in older stores: 1)", 1),
    _c("model_key", _STR, "store key of the fitted scaler + model used to place new sections, or null"),
    _c("n_placed", _I64, "sections labelled by the fitted model after the fit (placed, not fitted)", 0),
    _c("placed_drift", _F64, "mean distance of placed sections to their centre ÷ that of fitted ones"),
    _c("k_rule", _STR, "how K was chosen (e.g. fixed, stability, silhouette-tolerance, bic)"),
    _c("k_min", _I64, "smallest K searched"), _c("k_max", _I64, "largest K searched"),
    _c("k_at_edge", _BOOL, "the chosen K is at an end of the searched range"),
    # song purity of the fit (sectionist.analysis.modeling.purity); null in stores written before it
    _c("song_purity", _F64, "size-weighted mean of the clusters' song_purity (noise left out)", _NULL),
    _c("songs_effective", _F64, "size-weighted mean of the clusters' songs_effective (noise left out)", _NULL),
    _c("clusters_one_song", _I64, "clusters whose song_purity is at least 0.5 (mostly one song)", _NULL),
    # guided versions (sectionist guide, modeling.guided); null for every other run and in older stores
    _c("constraints_total", _I64, "guided version: the experts' pair constraints it was fitted under", _NULL),
    _c("constraints_satisfied", _I64, "guided version: how many of those it satisfies (all: hard constraints)", _NULL),
    _c("sections_changed", _I64, "guided version: sections whose cluster differs from the parent version's "
       "(after label alignment)", _NULL),
])

CLUSTERINGS = Table("clusterings", part="{run_id}", doc="a run's label for each section", columns=[
    _c("run_id", _STR), _c("section_id", _STR), _c("label", _I64, "−1 = noise"), _c("confidence", _F64),
    _c("distance", _F64), _c("silhouette", _F64), _c("stability", _F64, "co-assignment rate"),
    _c("proba", pa.list_(_F64), "soft methods"),
    _c("label_distribution", pa.list_(_F64), "frame-level spaces"),
    _c("placed", _BOOL, "labelled by the fitted model after the fit (absent in older stores: false)", False),
])

CLUSTERS = Table("clusters", part="{run_id}", doc="one row per cluster of a run", columns=[
    _c("run_id", _STR), _c("cluster", _I64), _c("size", _I64), _c("n_songs", _I64),
    _c("centroid", _STR, "JSON {column: value}, original units of the space; null for noise −1"),
    _c("prototypes", pa.list_(pa.string()), "section ids"), _c("borderline", pa.list_(pa.string()), "section ids"),
    _c("profile", _STR, "JSON, mean classical17 values"),
    _c("shap_ranking", _STR, "JSON list of {feature, mean_abs_shap}"),
    _c("song_purity", _F64, "share of the cluster's fitted sections from its largest song; null for noise −1", _NULL),
    _c("songs_effective", _F64, "effective number of songs, 1 / Σ p² over the songs' shares; null for noise −1",
       _NULL),
])

PROJECTIONS = Table("projections", part="{space}/{kind}{dims}", doc="a map: one point per section", columns=[
    _c("space", _STR), _c("kind", _STR, "pca/tsne/umap"), _c("dims", _I64), _c("section_id", _STR),
    _c("x", _F64), _c("y", _F64), _c("z", _F64, "null in 2-D"),
    _c("placed", _BOOL, "mapped by the fitted projector after the fit (absent in older stores: false)", False),
])

CENTROID_PROJECTIONS = Table("centroid_projections", part="{run_id}", doc="a run's cluster centres on each map", columns=[
    _c("run_id", _STR), _c("space", _STR), _c("kind", _STR), _c("dims", _I64), _c("cluster", _I64),
    _c("x", _F64), _c("y", _F64), _c("z", _F64),
])

PROJECTION_INFO = Table("projection_info", part="{space}/{kind}{dims}", doc="how a map was made", columns=[
    _c("space", _STR), _c("kind", _STR), _c("dims", _I64), _c("params", _STR, "JSON"),
    _c("explained_variance_ratio", pa.list_(_F64), "PCA only"), _c("n_sections", _I64), _c("seconds", _F64),
    _c("model_key", _STR, "store key of the fitted projector used to place new sections, or null"),
    _c("n_placed", _I64, "sections placed by the fitted projector after the fit", 0),
])

EXPLANATIONS = Table("explanations", part="{run_id}", doc="SHAP values of each section towards its own cluster", columns=[
    _c("run_id", _STR), _c("section_id", _STR), _c("cluster", _I64),
], dynamic=[Dynamic(r"shap_.+", _F32, "`shap_<feature>` for each explained feature")])

COMPARISONS = Table("comparisons", part="{run_a}__{run_b}", doc="agreement of two runs", columns=[
    _c("run_a", _STR), _c("run_b", _STR, "(run_a, run_b) sorted"), _c("n_sections", _I64, "common sections"),
    _c("agreement", _F64), _c("ari", _F64), _c("nmi", _F64),
    _c("mapping", _STR, "JSON: label_b → aligned label"), _c("contingency", _STR, "JSON: rows, cols, counts"),
])

COMPARISON_SECTIONS = Table("comparison_sections", part="{run_a}__{run_b}", doc="two runs' labels of each section", columns=[
    _c("section_id", _STR), _c("label_a", _I64), _c("label_b", _I64), _c("label_b_aligned", _I64), _c("agree", _BOOL),
])

SOUND_TRACKS = Table("sound_tracks", part="{song_id}", doc="one row per block of a song's sound tracks (sectionist tracks)", columns=[
    _c("song_id", _STR), _c("kind", _STR, "sound (a cluster of beat fragments) or nmf (an NMF component)"),
    _c("track", _I64, "display order within the kind: similar sounds adjacent"),
    _c("start_s", _F64), _c("end_s", _F64), _c("fragment_beats", _I64, "beats per fragment: 1, 2 or 4"),
    _c("label", _STR, '"sound 3 · 41 blocks · mostly low/dark"'), _c("params", _STR, "JSON: options and sound/component number"),
])


SEGMENTS = Table("segments", part="{scheme}/{song_id}", doc="a structure scheme's segments of a song, labelled by which are the same part; a version recomputed under experts' corrections is a part of its own, {scheme}~v{version}/{song_id}", columns=[
    _c("song_id", _STR), _c("scheme", _STR, "structure scheme: merged, laplacian, kmeans15, novelty"),
    _c("index", _I32), _c("start_s", _F64), _c("end_s", _F64),
    _c("label", _I64, "segment type, local to the song: equal labels are the same part"),
    _c("n_types", _I32, "distinct labels of the song"),
    _c("params", _STR, "JSON: the scheme's parameters and choices (merged: pre_bounds, pre_labels of the slices)"),
    _c("level", _STR, "section (the song's parts) or phrase (the finer level inside them); absent in older stores: section",
       "section"),
    _c("confidence", _F64, "how sure the shared label is (0–1): the segment's recurrence with its best match of the "
       "same label; null when no other segment shares its label"),
    _c("version", _I32, "1: the scheme's own; 2, 3 …: recomputed under experts' corrections (params: corrections, "
       "base), never rewriting an older version; readers take the latest (latest_segments); absent in older stores: 1",
       1),
])

SALIENCY = Table("saliency", part="{run_id}", doc="what the network hears: a musicnn run's mean saliency map per cluster (sectionist saliency)", columns=[
    _c("run_id", _STR), _c("cluster", _I64), _c("n_sections", _I64, "fitted prototypes averaged"),
    _c("n_freq", _I64, "mel bands (musicnn: 96, 0–8 kHz)"), _c("n_time", _I64, "bins over each section's time"),
    _c("map", pa.list_(_F32), "row-major n_freq × n_time, sums to 1"),
    _c("profile", pa.list_(_F32), "mean of the map over time: one value per mel band"),
    _c("method", _STR, "how the map was computed"), _c("space", _STR, "the run's musicnn embedder"),
    _c("layer", _STR, "the embedding layer differentiated"),
])


def latest_segments(segments):
    """The rows of the latest ``version`` of each song's scheme in a :data:`SEGMENTS` frame (every row
    of an older store, which has no ``version`` column): what readers show by default."""
    if "version" not in segments.columns or segments.empty or "song_id" not in segments.columns:
        return segments
    version = segments["version"].fillna(1)
    latest = version.groupby([segments["song_id"], segments["scheme"]], sort=False).transform("max")
    return segments[version == latest]


def section_level(segments):
    """The ``section``-level rows of the latest version (:func:`latest_segments`) of a :data:`SEGMENTS`
    frame (every row of an older store, which has no ``level`` column): what one lane, export or score
    per scheme and song shows."""
    segments = latest_segments(segments)
    if "level" not in segments.columns:
        return segments
    return segments[segments["level"].fillna("section") == "section"]

#: Every table, in the order of the data flow.
TABLES: tuple[Table, ...] = (
    SONGS, SECTIONS, FEATURES, MELSPEC, FRAMES, TAGS, SEGMENTS, RUNS, CLUSTERINGS, CLUSTERS, PROJECTIONS,
    CENTROID_PROJECTIONS, PROJECTION_INFO, EXPLANATIONS, COMPARISONS, COMPARISON_SECTIONS, SOUND_TRACKS,
    SALIENCY,
)
BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}

#: Tables with one part per song (``{song_id}`` or ``{…}/{song_id}``): what a song's analysis wrote.
SONG_TABLES: tuple[Table, ...] = tuple(t for t in TABLES if t.part_fields[-1:] == ["song_id"])
#: Tables with one part per run.
RUN_TABLES: tuple[Table, ...] = (RUNS, CLUSTERINGS, CLUSTERS, EXPLANATIONS, CENTROID_PROJECTIONS, SALIENCY)


def table(name) -> Table:
    """The :class:`Table` called ``name`` (a ``Table`` is returned as it is)."""
    if isinstance(name, Table):
        return name
    try:
        return BY_NAME[str(name)]
    except KeyError:
        raise StoreError(f"unknown table {name!r} (tables: {', '.join(BY_NAME)})") from None


# ---- embedder frames: the one rule for section vectors ------------------------------------------

def frame_columns(columns) -> list[str]:
    """The vector columns ``e0 … e{D-1}`` among ``columns``, in numeric order."""
    return sorted((c for c in columns if re.fullmatch(r"e\d+", str(c))), key=lambda c: int(c[1:]))


def frame_parts(store, embedder: str) -> list[str]:
    """Part names of the ``frames`` table that hold ``embedder``'s frames."""
    return FRAMES.parts_where(store.list_parts(FRAMES), embedder=embedder)


def embedders_in(store) -> list[str]:
    """Embedders that have frames in ``store``."""
    return sorted({FRAMES.parse_part(p)["embedder"] for p in store.list_parts(FRAMES) if "/" in p})


def read_frames(store, embedder: str, *, reader=None) -> "pd.DataFrame":  # noqa: F821
    """Every frame of ``embedder`` (raises :class:`StoreError` naming the embedders present if none).

    ``reader(table, parts=…)`` replaces ``store.read_table`` (e.g. a parallel reader).
    """
    parts = frame_parts(store, embedder)
    if not parts:
        known = embedders_in(store)
        raise StoreError(f"{store.uri}: no frames of embedder {embedder!r} (embedders in the store: "
                         f"{', '.join(known) or 'none'}; run 'sectionist embed --store {store.uri} "
                         f"--embedder {embedder}')")
    return (reader or store.read_table)(FRAMES, parts=parts)


def section_vectors(store, space: str, *, frames=None, reader=None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each section's vector in embedder ``space``: the mean of its finite frames.

    The one implementation that modelling, embedding and the dashboard call.

    Parameters
    ----------
    store : Store
    space : str
        An embedder with frames in the store.
    frames : pd.DataFrame, optional
        Frames already read (e.g. filtered to some sections); default: all of ``space``'s frames.
    reader : callable, optional
        Passed to :func:`read_frames`.

    Returns
    -------
    section_ids : np.ndarray [shape=(n,), dtype=str]
        Sorted.
    X : np.ndarray [shape=(n, d), dtype=float64]
        Mean over each section's frames; frames with a non-finite value are left out, and a
        section with none left is left out.
    columns : list of str
        ``e0 … e{d-1}``.
    """
    fr = read_frames(store, space, reader=reader) if frames is None else frames
    cols = frame_columns(fr.columns)
    if not cols:
        raise StoreError(f"{store.uri}: frames of {space!r} have no e0..eN columns")
    vals = fr[cols].to_numpy(np.float64)
    finite = np.isfinite(vals).all(axis=1)
    ids = fr["section_id"].to_numpy().astype(str)[finite]
    vals = vals[finite]
    section_ids, groups = np.unique(ids, return_inverse=True)
    sums = np.zeros((len(section_ids), len(cols)))
    np.add.at(sums, groups, vals)
    counts = np.bincount(groups, minlength=len(section_ids)).astype(np.float64)
    return section_ids, sums / np.maximum(counts, 1)[:, None], cols


# ---- docs/store.md --------------------------------------------------------------------------------

def _type_name(t: pa.DataType) -> str:
    names = {_STR: "string", pa.string(): "string", _F64: "float64", _F32: "float32", _I64: "int64",
             _I32: "int32", _BOOL: "bool"}
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<{_type_name(t.value_type)}>"
    return names.get(t, str(t))


def markdown() -> str:
    """The table of tables for ``docs/store.md``."""
    lines = ["| table | part | columns (type) |", "|---|---|---|"]
    for t in TABLES:
        cols = []
        for c in t.columns:
            cols.append(f"{c.name} ({_type_name(c.type)}{': ' + c.doc if c.doc else ''})")
        for d in t.dynamic:
            cols.append(f"{d.doc} ({_type_name(d.type)})")
        lines.append(f"| `{t.name}` | `{t.part_template}` | {t.doc}: " + ", ".join(cols) + " |")
    return "\n".join(lines) + "\n"


BEGIN_MARK = "<!-- tables: generated by `python -m sectionist.store.schema --update docs/store.md` -->"
END_MARK = "<!-- end of generated tables -->"


def update_doc(text: str) -> str:
    """``text`` (docs/store.md) with the part between the markers replaced by :func:`markdown`."""
    try:
        head, rest = text.split(BEGIN_MARK, 1)
        _, tail = rest.split(END_MARK, 1)
    except ValueError:
        raise StoreError("docs/store.md lacks the generated-table markers") from None
    return f"{head}{BEGIN_MARK}\n{markdown()}{END_MARK}{tail}"


def _main(argv=None) -> int:  # pragma: no cover - a maintainer's tool
    import argparse
    from pathlib import Path

    ap = argparse.ArgumentParser(prog="python -m sectionist.store.schema", description="Print the store's tables as "
                                 "markdown, or rewrite them in a document between the markers.")
    ap.add_argument("--update", metavar="FILE", help="rewrite the generated table in FILE (docs/store.md)")
    args = ap.parse_args(argv)
    if args.update:
        path = Path(args.update)
        path.write_text(update_doc(path.read_text()))
    else:
        print(markdown(), end="")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
