"""The notice above every page when parts of the store are damaged: which runs or tables are left out,
why, and the command that repairs them (``sectionist repair``). The data layer leaves those parts out
(:meth:`sectionist.dashboard.data.store_data.StoreData.damaged_parts`), so the rest is served."""

from __future__ import annotations

from sectionist.dashboard.ui.i18n import _

#: Damaged parts listed by name in the notice; more are counted.
MAX_LISTED = 12


def damage_text(err) -> str:
    """What a reader is told about one damaged part (a :class:`DamagedPartError`): the part by its key
    in the store, in the reader's language, and who can repair it. The server's paths, the store's
    address and the parquet details stay in the logs and in ``sectionist check``: every logged-in user
    reads this notice."""
    return _("its stored part %(part)s cannot be read (damaged or cut short); an administrator can "
             "rebuild it with 'sectionist repair' (see 'sectionist check')", part=err.key)


def damage_lines(data) -> list[str]:
    """One sentence per damaged part (a run's part: the run is unavailable), in the reader's language."""
    from sectionist.dashboard.data.store_data import RUN_TABLES

    lines = []
    for err in data.damaged_parts().values():
        if err.table in RUN_TABLES:
            lines.append(_("Run %(run)s is unavailable: %(error)s", run=err.part, error=damage_text(err)))
        else:
            lines.append(_("Left out of the store's %(table)s: %(error)s", table=err.table,
                           error=damage_text(err)))
    return lines


def error_lines(exc) -> list[str]:
    """The sentence for a damaged part a callback ran into."""
    return [_("This view is unavailable: %(error)s", error=damage_text(exc))]


def store_notice(lines: list[str]):
    """The notice component (empty and hidden without lines)."""
    from dash import html

    if not lines:
        return []
    shown = lines[:MAX_LISTED]
    more = len(lines) - len(shown)
    items = [html.Li(line) for line in shown]
    if more:
        items.append(html.Li(_("… and %(n)d more damaged parts ('sectionist check' lists them all)", n=more)))
    return html.Div(className="notice notice-error", role="alert", children=[
        html.Strong(_("Part of the store is damaged; what is readable is still shown.")),
        html.Ul(items),
    ])
