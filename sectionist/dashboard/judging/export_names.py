"""The experts' cluster names an export carries, for the app's downloads and ``sectionist export``.

Names are per run version (a refit is a new run id): a cluster is named by the experts' current name
in that version, else by the name carried over from the matched cluster of an older version of its
lineage, marked ``"(from v1)"`` (:func:`sectionist.dashboard.judging.stats.carried_cluster_names`, what
the app shows), else it stays ``cluster N`` (the export writers' default). The analysis layer's
writers take the names as a mapping (:class:`sectionist.analysis.export.data.ExportData`); this module
reads them from the judgement database.
"""

from __future__ import annotations

from pathlib import Path

from sectionist.analysis.errors import ParameterError, StoreError


def export_names(db, run_ids, known=None, labels=None) -> tuple[dict, dict]:
    """``(names, named_in)`` of the runs ``run_ids``: run id → ``{cluster: name}`` and run id →
    ``{cluster: run id the name was given in}``.

    Parameters
    ----------
    db : Database
        The judgement database.
    run_ids : list of str
    known : pandas.DataFrame, optional
        ``lineage`` and ``version`` per run id of the store (every version); without it no name is
        carried over from older versions.
    labels : callable, optional
        ``labels(run_id)`` → Series of labels by section id (to match clusters across versions).
    """
    from sectionist.dashboard.judging.repository import current_cluster_names
    from sectionist.dashboard.judging.stats import carried_cluster_names

    cache: dict = {}

    def own(rid):
        if rid not in cache:
            cache[rid] = current_cluster_names(db, rid)
        return cache[rid]

    names, named_in = {}, {}
    for rid in run_ids:
        mine = dict(own(rid))
        given = {c: rid for c in mine}
        if known is not None and labels is not None and rid in known.index:
            by_version = {int(v): r for r, v in known.loc[known["lineage"] == known.at[rid, "lineage"], "version"].items()}
            for c, (name, version) in carried_cluster_names(rid, known, labels, own).items():
                if c not in mine:
                    mine[c] = f"{name} (from v{version})"
                    given[c] = by_version.get(int(version), rid)
        names[rid], named_in[rid] = mine, given
    return names, named_in


def store_versions(store) -> tuple:
    """``(known, labels)`` of a store for :func:`export_names`: every run's lineage and version (a
    DataFrame by run id), and a reader of a run's labels by section id."""
    import pandas as pd

    from sectionist.store.schema import CLUSTERINGS, RUNS

    runs = store.read_table(RUNS)
    if runs.empty:
        return pd.DataFrame(columns=["lineage", "version"]), lambda rid: None
    known = runs.set_index("run_id")[["lineage", "version"]].copy()
    known["lineage"] = [lin if isinstance(lin, str) and lin else rid for rid, lin in known["lineage"].items()]
    known["version"] = known["version"].fillna(1).astype(int)

    def labels(rid):
        if rid not in known.index or not store.has_part(CLUSTERINGS, rid):
            return None
        part = store.read_part(CLUSTERINGS, rid)
        return pd.Series(part["label"].to_numpy(), index=part["section_id"].to_numpy())

    return known, labels


def command_names(args):
    """The names reader of ``sectionist export`` (``args``: its options), or None for none.

    ``--no-names``: none. ``--db URL``: that database (it must exist). Otherwise the store's default
    database (``<store>/sectionist.sqlite``, as ``serve`` uses) when it exists; without one every
    cluster stays ``cluster N``. The database is only read, whatever its schema revision.
    """
    if getattr(args, "no_names", False):
        return None
    from sqlalchemy.engine import make_url

    from sectionist.dashboard.models import Database

    settings = args.settings
    url = settings.database_url()
    if not url:
        return None
    parsed = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        if getattr(args, "db", None):
            raise ParameterError(f"--db {url}: no such database file")
        return None  # a store whose app never ran: no names

    def read(store, run_ids):
        from sqlalchemy.exc import SQLAlchemyError

        db = Database(url, create=False)  # read only: no schema check, no table created
        try:
            known, labels = store_versions(store)
            return export_names(db, run_ids, known, labels)
        except SQLAlchemyError as exc:
            raise StoreError(f"{db.safe_url}: cannot read the cluster names ({exc.__class__.__name__}: "
                             f"{getattr(exc, 'orig', exc)})") from None
        finally:
            db.dispose()

    return read
