"""Expert judgements, in four modules (import the one you need; this package imports none of them).

:mod:`~sectionist.dashboard.judging.repository`
    Recording with history (a new verdict supersedes the person's previous one, never overwrites
    it; ``client_id`` makes retries idempotent), the current verdicts, the tidy frames
    (:func:`~sectionist.dashboard.judging.repository.judgements_frame`,
    :func:`~sectionist.dashboard.judging.repository.cluster_verdicts_frame`) and CSV/parquet export.
:mod:`~sectionist.dashboard.judging.stats`
    Pure agreement statistics over those frames (Wilson and Newcombe intervals, agreement per run
    and cluster, Cohen's and Fleiss' kappa, Krippendorff's alpha, the most disputed sections):
    no SQL, no Flask. Shared by the Judgements page and ``sectionist judgements``.
:mod:`~sectionist.dashboard.judging.queues`
    Judging queues for the judge page (random, prototypes, borderline, disagreement, instability;
    several runs interleaved for a blind comparison).
:mod:`~sectionist.dashboard.judging.routes`
    The Flask blueprint of the JSON API and the exports, and the checked submissions used by the
    API and the Dash judging panel alike; registered by :func:`sectionist.dashboard.app.create_app`.

Roles come from :mod:`sectionist.dashboard.auth` (``judging`` imports ``auth``, never the other way round);
the rule of who may judge is the user model's own (:attr:`sectionist.dashboard.models.User.can_judge`).
"""
