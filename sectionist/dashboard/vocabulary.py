"""The words of the user and judgement model: roles and verdicts (plain tuples, no imports).

:mod:`sectionist.dashboard.models` stores them; :mod:`sectionist.dashboard.judging.stats` counts them without needing
the database layer.
"""

#: Roles, from most to least powerful.
ROLES = ("admin", "expert", "viewer")
#: Roles that may record judgements (the rule behind :attr:`sectionist.dashboard.models.User.can_judge`).
JUDGING_ROLES = ("admin", "expert")
#: Section-level verdicts.
VERDICTS = ("agree", "disagree", "unsure")
#: Cluster-level verdicts.
CLUSTER_VERDICTS = ("coherent", "mixed", "split", "merge")
#: Answers to a pairwise question ("do these two sound like the same kind of section?").
PAIR_RELATIONS = ("same", "different")
#: The Judge page's strategy that asks those questions, one pair at a time (beside ``queues.STRATEGIES``).
PAIRS = "pairs"
#: Kinds of structure correction an expert can make on a song's lanes.
STRUCTURE_CORRECTIONS = ("same", "different", "split", "boundary")
