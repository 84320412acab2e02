"""Expert judgements, in four modules (import the one you need; this package imports none of them).

:mod:`~dashboard.judging.repository`
    Recording with history (a new verdict supersedes the person's previous one, never overwrites
    it; ``client_id`` makes retries idempotent), the current verdicts, the tidy frames
    (:func:`~dashboard.judging.repository.judgements_frame`,
    :func:`~dashboard.judging.repository.cluster_verdicts_frame`) and CSV/parquet export.
:mod:`~dashboard.judging.stats`
    Pure agreement statistics over those frames (Wilson and Newcombe intervals, agreement per run
    and cluster, Cohen's and Fleiss' kappa, Krippendorff's alpha, the most disputed sections):
    no SQL, no Flask. Shared by the Judgements page and ``sectionist judgements``.
:mod:`~dashboard.judging.queues`
    Judging queues for the judge page (random, prototypes, borderline, disagreement, instability;
    several runs interleaved for a blind comparison).
:mod:`~dashboard.judging.routes`
    The Flask blueprint of the JSON API and the exports, and the checked submissions used by the
    API and the Dash judging panel alike; registered by :func:`dashboard.app.create_app`.

Roles come from :mod:`dashboard.auth` (``judging`` imports ``auth``, never the other way round);
the rule of who may judge is the user model's own (:attr:`dashboard.models.User.can_judge`).
"""
