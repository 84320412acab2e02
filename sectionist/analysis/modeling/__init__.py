"""Modelling over a store: cluster a space, project it, explain and compare runs.

Reads ``sections``, ``features`` and ``frames``; writes ``runs``, ``clusterings``, ``clusters``,
``explanations``, ``projections``, ``projection_info``, ``centroid_projections``, ``comparisons``
and ``comparison_sections`` (see ``docs/store.md``, ``docs/modeling.md``). A run id is never
refitted: fitting the same options again writes the next version, ``{lineage}~v{n}``, and sections
added later are placed into existing runs and maps with their saved models.

The modules (nothing is imported here):

Pure, over arrays (no store):

- ``estimators``: the clustering methods behind one registry (``REGISTRY``, ``make_method``);
- ``scaling``: ``FeatureScaler``, the column scaling before clustering;
- ``kchoice``: the K range, the K rules (``choose_k``) and the bootstrap stability per K;
- ``measures``: silhouettes, cluster quality, frame-label modes, co-assignment stability;
- ``roles``: song-relative spaces (``<space>-role``: z-scores within each song; ``-rel``), ``song_relative``;
- ``purity``: how far a run's clusters are one song each (``song_purity``);
- ``kernels``: squared distances and the distance-margin confidence;
- ``checks``: validation of the rows given to the estimators;
- ``specs``: ``SpaceData`` (the rows), ``RunSpec`` (the options) and the run ids;
- ``runs``: ``fit_run``, one run's fit (``RunResult``), and the large-corpus path;
- ``scores``: ``run_stability`` (bootstrap refits) and ``score_truth`` (ARI / NMI against truth);
- ``runmodel``: ``RunModel``, a fitted run's saved model, and ``place_sections``;
- ``explain``, ``projection``, ``compare``: SHAP explanations, maps' projectors, label comparisons.

Over a store:

- ``spaces``: reading a space's rows (``load_space``, ``feature_matrix``, ``space_section_matrix``);
- ``persistence``: fitted models under ``models/`` (``save_model``, ``load_model``; models saved by
  earlier layouts of the code load too);
- ``versions``: run versions (``latest_version``, ``latest_runs``);
- ``tables``: a run as table rows (``run_rows``) and their writing (``write_run``);
- ``cluster``: one run (``cluster_store``): load → fit → stability / explanation / truth → write;
- ``maps``: a space's maps and the runs' centroids on them (``project_space``, ``ensure_maps``);
- ``comparisons``: every pair of runs and every run against the truth (``compare_store``);
- ``placement``: new sections into existing runs and maps (``place_new_sections``);
- ``marks``: the finished modelling units recorded in the manifest;
- ``defaults``: what ``sectionist analyze`` runs at the end (``run_default_models``);
- ``refit``: ``sectionist refit``, a new version of runs;
- ``constraints`` (pure): experts' answers as must-links and cannot-links (``Constraints``, the CSV);
- ``constrained`` (pure): a feature weighting learned from them and COP-K-Means in it;
- ``guided``: ``guide_run``, a new version that honours every constraint (``sectionist guide``,
  registered by :mod:`sectionist.dashboard.judging.guidance`, which reads the verdicts).

The sub-commands ``sectionist cluster``, ``compare`` and ``cluster-defaults`` are in
:mod:`sectionist.analysis.commands.modeling`.
"""
