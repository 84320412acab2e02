"""The job box: what a page says where a result is not computed yet, and the admin's button that
computes it in the background (:mod:`sectionist.dashboard.jobs`), with its progress.

A page puts :func:`job_done_store` in its layout once, renders :func:`job_box` (in a callback or
its layout) where the result is missing, and calls :func:`register_jobs` for itself at import, as
it does ``register_judging``. The box shows

- to an admin: a button that starts the job, and a line on how long it takes;
- to everyone else: a plain sentence that an admin can compute it from this page;
- to everyone, while a job of that kind runs (whoever started it): a progress bar with
  "3 of 12 songs", polled every :data:`POLL_MS` ms; a failed job's reason in words.

When the job ends well the box's callback sets the page's ``job_done`` store
(``{"job_id", "kind"}``): the page's own callbacks take it as an input, reload the store
(:meth:`StoreData.refresh`) and draw the result. The server refuses a start from anyone but an
admin, whatever the page sent.
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from sectionist.analysis.errors import SectionistError

from sectionist.dashboard.ui import ids
from sectionist.dashboard.auth.context import current_user_or_none
from sectionist.dashboard.data.store_data import get_data
from sectionist.dashboard.jobs import JobBusy, JobState, get_jobs
from sectionist.dashboard.ui.i18n import N_, _, integer, ngettext

#: How often a running job's box asks for its progress (ms).
POLL_MS = 1000

#: The words of each kind of job: the admin's button, the line under it, the note for others.
WORDS = {
    "tracks": {
        "start": N_("Compute the sound tracks"),
        "help": N_("It runs in the background on the server, some seconds a song; the view fills in when it is done."),
        "others": N_("An admin can compute the sound tracks from this page."),
        "elsewhere": N_("(for other songs)"),
    },
    "saliency": {
        "start": N_("Compute what the network listens to"),
        "help": N_("It runs in the background on the server and can take minutes (it listens to the cluster's "
                   "prototypes through the network); the map appears here when it is done."),
        "others": N_("An admin can compute it from this page."),
        "elsewhere": N_("(for another run)"),
    },
    "guide": {
        "start": N_("Fit a guided version"),
        "help": N_("It runs in the background on the server (seconds to a minute): a new version of the run "
                   "that honours every answer; the version you judged stays as it is."),
        "others": N_("An admin can fit a guided version from this page."),
        "elsewhere": N_("(for another run)"),
    },
}


def job_done_store(page: str) -> dcc.Store:
    """The store set when a job started from ``page`` has ended well (put it in the page's layout)."""
    return dcc.Store(id=ids.job_done(page))


def progress_text(state: JobState) -> str:
    """"Computing the sound tracks: 3 of 12 songs" (or "Starting…" before the command's progress shows)."""
    if state.done is None or not state.total:
        return _("Starting…")
    if state.kind == "guide":
        return ngettext("Fitting the guided version: step %(done)s of %(num)d",
                        "Fitting the guided version: step %(done)s of %(num)d", state.total, done=integer(state.done))
    if state.kind == "tracks":
        return ngettext("Computing the sound tracks: %(done)s of %(num)d song",
                        "Computing the sound tracks: %(done)s of %(num)d songs", state.total, done=integer(state.done))
    return ngettext("Computing the saliency maps: %(done)s of %(num)d section",
                    "Computing the saliency maps: %(done)s of %(num)d sections", state.total, done=integer(state.done))


def status_view(state: JobState, args: dict | None = None) -> list:
    """The box's status line for ``state``: progress while it runs (for any target), a failure of
    the job for these ``args``, else nothing."""
    if state.running:
        text = progress_text(state)
        if args is not None and state.args != args:
            text = f"{text} {_(WORDS[state.kind]['elsewhere'])}"
        if state.user:
            started = _("started by %(user)s", user=state.user)
            text = f"{text} · {started}"
        bar = (html.Progress(value=state.done, max=state.total, className="job-progress") if state.total
               else html.Progress(className="job-progress"))
        return [bar, html.Span(text, className="job-text")]
    if args is not None and state.args != args:
        return []
    if state.status == "failed":
        return [html.Span(_("The computation failed: %(reason)s", reason=state.reason), className="job-text job-error")]
    if state.status == "lost":
        return [html.Span(_("The computation stopped before it finished (the server may have restarted). "
                            "Start it again."), className="job-text job-error")]
    return []


def job_box(page: str, kind: str, args: dict, missing: str) -> html.Div:
    """Where ``page`` lacks the result of a job of ``kind`` for ``args``: the sentence ``missing``
    (what is not there yet), the admin's button or the note for others, and the job's status."""
    user = current_user_or_none()
    admin = bool(user is not None and user.is_admin)
    state = get_jobs().state(kind)
    children = [html.P(missing, className="job-missing")]
    if admin:
        children.append(html.Div(className="job-actions", children=[
            html.Button(_(WORDS[kind]["start"]), id=ids.job_part("start", page), n_clicks=0, className="btn",
                        disabled=state.running),
            html.Span(_(WORDS[kind]["help"]), className="muted small"),
        ]))
    else:
        children.append(html.P(_(WORDS[kind]["others"]), className="muted small job-others"))
    children += [
        html.Div(status_view(state, args), id=ids.job_part("status", page), className="job-status", role="status",
                 **{"aria-live": "polite"}),
        dcc.Interval(id=ids.job_part("poll", page), interval=POLL_MS, disabled=not state.running),
        dcc.Store(id=ids.job_part("target", page), data={"kind": kind, "args": args}),
    ]
    return html.Div(children, className="job-box", **{"data-job": kind})


def on_start(target: dict) -> tuple:
    """Start the job ``target`` names for the logged-in admin. Returns (status, running)."""
    user = current_user_or_none()
    if user is None or not user.is_admin:
        return [html.Span(_("Only an admin can start this."), className="job-text job-error")], False
    kind, args = target.get("kind"), dict(target.get("args") or {})
    runner = get_jobs()
    try:
        state = runner.start(kind, args, user=user.username, env=job_env(kind))
    except JobBusy:
        state = runner.state(kind)
    except SectionistError as exc:
        return [html.Span(_("The computation failed: %(reason)s", reason=str(exc)), className="job-text job-error")], False
    return status_view(state, args), state.running


def job_env(kind: str) -> dict:
    """What a job of ``kind`` needs in its environment: a ``guide`` job reads the experts' answers
    from the app's own database (``SECTIONIST_DB_URL``)."""
    if kind != "guide":
        return {}
    from sectionist.dashboard.auth.context import get_db

    return {"SECTIONIST_DB_URL": get_db().url}


def on_poll(target: dict) -> tuple:
    """The job's state now. Returns (status, running, done): ``done`` is the page's ``job_done``
    value when it has just ended well (the store reloaded first), else ``no_update``."""
    kind, args = target.get("kind"), dict(target.get("args") or {})
    state = get_jobs().state(kind)
    if state.running:
        return status_view(state, args), True, no_update
    if state.status == "done":
        get_data().refresh(force=True)  # the job bumped the store's version: read what it wrote
        return [html.Span(_("Done."), className="job-text")], False, {"job_id": state.job_id, "kind": kind}
    return status_view(state, args), False, no_update


def register_jobs(page: str) -> None:
    """Register the callback of ``page``'s job box (start and progress)."""

    @callback(
        Output(ids.job_part_all("status", page), "children"),
        Output(ids.job_part_all("poll", page), "disabled"),
        Output(ids.job_part_all("start", page), "disabled"),
        Output(ids.job_done(page), "data"),
        Input(ids.job_part_all("start", page), "n_clicks"),
        Input(ids.job_part_all("poll", page), "n_intervals"),
        State(ids.job_part_all("target", page), "data"),
        prevent_initial_call=True,
    )
    def _job(clicks, ticks, targets):
        n_status, n_poll, n_start = (len(x) for x in dash.ctx.outputs_list[:3])
        trig = dash.ctx.triggered_id
        target = targets[0] if targets else None
        if not isinstance(trig, dict) or not isinstance(target, dict):
            return [no_update] * n_status, [no_update] * n_poll, [no_update] * n_start, no_update
        done = no_update
        if trig.get("type") == "job-start":
            if not any(clicks or []):
                return [no_update] * n_status, [no_update] * n_poll, [no_update] * n_start, no_update
            status, running = on_start(target)
        else:
            status, running, done = on_poll(target)
        return [status] * n_status, [not running] * n_poll, [running] * n_start, done


def sound_tracks_box(data, page: str, song_ids) -> list:
    """Under the Songs page's Sounds view: the job box for the shown songs that have no sound tracks
    yet (``[]`` when every one has them)."""
    from sectionist.store.schema import SOUND_TRACKS

    table = data.table(SOUND_TRACKS)
    have = set(table["song_id"]) if not table.empty else set()
    missing = [s for s in song_ids if s not in have]
    if not missing:
        return []
    titles = ", ".join(str(data.songs.loc[s, "title"]) for s in missing[:3]) + (" …" if len(missing) > 3 else "")
    text = ngettext("%(num)d song shown has no sound tracks yet: %(songs)s.",
                    "%(num)d songs shown have no sound tracks yet: %(songs)s.", len(missing), songs=titles)
    return [job_box(page, "tracks", {"songs": [str(s) for s in missing]}, text)]
