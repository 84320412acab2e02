"""What each number on the Overview means, in one plain line: the one place these lines live.

The runs table's measures, the K curves' and the evaluation card's, keyed by the column (or curve)
they explain. :mod:`sectionist.dashboard.ui.components.metrics` shows them twice: on hover over a
column's header, and in a folded "What these numbers mean" list that a tap opens (a phone has no
hover). The strength legend (:func:`sectionist.dashboard.ui.strength.bands_explained`) reuses the
silhouette's and the stability's lines.
"""

from __future__ import annotations

from sectionist.dashboard.data.strength import MOSTLY_ONE_SONG
from sectionist.dashboard.ui.i18n import N_, _, percent

#: metric → one plain line, to be read after the measure's name ("silhouette ↑ — how much closer…";
#: an English template; ``%(share)s`` is :data:`MOSTLY_ONE_SONG`).
METRICS = {
    # the runs table
    "strength": N_("how well the run's clusters are separated, in a word (strong, moderate, weak, no real groups): "
                   "read from the silhouette, and lowered when refits disagree."),
    "one_song": N_("how many of the run's clusters take at least %(share)s of their sections from one song (song "
                   "purity): many such clusters mean the run groups songs, not kinds of section."),
    "k_note": N_("how the number of clusters K was chosen; ⚠ when it sits at the edge of the range tried, where a "
                 "K outside the range might fit better."),
    "coverage": N_("sections the run labelled with its fitted model without being fitted on them, and sections it "
                   "does not cover."),
    "silhouette": N_("how much closer each section is to its own cluster than to the next one, on average, from −1 "
                     "to 1; near 0 the clusters overlap."),
    "davies_bouldin": N_("how much each cluster looks like its most similar neighbour: its spread against the "
                         "distance between their centres; 0 is best, and under 1 the clusters lie further apart "
                         "than they are wide."),
    "calinski_harabasz": N_("how far apart the clusters' centres are against how spread out each cluster is; it has "
                            "no fixed scale, so compare runs on the same sections only."),
    "bic": N_("the Bayesian information criterion, Gaussian mixtures only: how well the mixture fits the "
              "sections, with a penalty for every extra parameter; only differences between runs on the same "
              "sections mean something."),
    "stability_ari": N_("how much of the grouping comes back when the model is refitted on resampled sections, from 0 "
                        "(chance) to 1 (all of it): the adjusted Rand index (ARI) between refits."),
    "fidelity": N_("how often a tree model on the classical features predicts a section's cluster right "
                   "(cross-validated): how far the feature explanations can be trusted."),
    "ari_truth": N_("how often two sections are grouped together, or apart, both by the run and by the annotation, "
                    "corrected for chance: 1 the same, 0 chance (adjusted Rand index)."),
    "nmi_truth": N_("how much knowing a section's cluster tells about its annotated part, from 0 (nothing) to 1 "
                    "(everything): normalised mutual information."),
    "expert_agreement": N_("the share of experts' verdicts on the run's sections that agree with the cluster: agree ÷ "
                           "(agree + disagree)."),
    "expert_verdicts": N_("how many verdicts experts gave on the run's sections, unsure ones included."),
    "carried_over": N_("verdicts on an older version of the run that still hold, because the section kept the judged "
                       "cluster."),
    # the K curves
    "inertia": N_("the sum of squared distances from each section to its cluster's centre: it always falls as K "
                  "grows, and the K where it stops falling fast (the elbow) is a good choice."),
    # the evaluation card
    "hr_f_0.5": N_("how many boundaries fall within half a second of the annotation's, found ones and missed ones "
                   "combined (1: all of them, none extra)."),
    "hr_f_3": N_("the same with three seconds of leeway, so a boundary near the right beat counts."),
    "pairwise_f": N_("of the pairs of moments the annotation labels the same, how many the labels also call the same, "
                     "and the reverse, combined."),
    "nce_f": N_("how well the labels and the annotation's predict each other (normalised conditional entropy); low "
                "when parts are cut too finely or lumped together."),
    "ari_frames": N_("the adjusted Rand index of the labels against the annotation's, frame by frame: 1 the same, 0 "
                     "chance."),
}


def explain(metric: str) -> str | None:
    """The plain line of ``metric`` in the request's language, or None for a column that is not a
    measure (a run id, a space)."""
    text = METRICS.get(metric)
    if text is None:
        return None
    if metric == "one_song":
        return _(text, share=percent(MOSTLY_ONE_SONG))
    return _(text)
