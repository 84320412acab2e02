"""Exports into the tools people already use: REAPER, Audacity, VLC, JAMS/MIREX, TensorBoard, notebooks.

One pure writer per format (segments or tables in, text or bytes out), a gatherer that reads what
they need from a store (``data.gather``, or ``data.build`` from frames the caller already holds, as the
dashboard does), ``files.export_files`` that turns an ``ExportData`` into named files, and
``files.write_files`` that writes them atomically. ``sectionist export KIND`` drives it
(:mod:`sectionist.analysis.commands.export`); ``docs/export.md`` describes every format.

Modules (this package imports none of them; import the one you need):

- :mod:`~sectionist.analysis.export.names`: cluster names and colours, one-line text, file stems;
- :mod:`~sectionist.analysis.export.data`: ``ExportData``, ``build``, ``gather``, selections;
- :mod:`~sectionist.analysis.export.locations`: how files point to the originals;
- :mod:`~sectionist.analysis.export.reaper`, :mod:`~sectionist.analysis.export.playlist` (XSPF),
  :mod:`~sectionist.analysis.export.labelfiles` (Audacity, MIREX, JAMS),
  :mod:`~sectionist.analysis.export.tables` (Projector, the labels table): the writers;
- :mod:`~sectionist.analysis.export.files`: ``KINDS``, ``export_files``, ``zip_bytes``, ``write_files``.

Kinds (``files.KINDS``):

- ``reaper``: one ``.rpp`` project; one track per sectioning scheme and per run, an item per section
  at the section's time (songs one after another, a marker at each song's start) that plays the
  original file from the right offset (``SOFFS``), named and coloured by cluster.
- ``audacity``: Audacity label tracks (``start<TAB>end<TAB>label``), one file per song and run.
- ``xspf``: one VLC playlist, a track per section with ``start-time``/``stop-time`` options.
- ``jams``: JAMS files (``segment_open`` namespace, validated), one per song and run.
- ``lab``: MIREX ``.lab`` files (``start end label``), one per song and run.
- ``structure``: JAMS files of each song's per-song structure, one per song and scheme: its levels
  (section, phrase) as one ``multi_segment`` hierarchy and a ``segment_open`` annotation per level.
- ``projector``: TensorBoard Projector ``vectors.tsv`` and ``metadata.tsv`` of one space.
- ``csv`` / ``parquet``: the sections with their labels across runs (one column per run).

A "run" is a run id (runs are immutable: a run id names one exact version); a "scheme" track holds
a sectioning scheme's sections labelled by their number. Where file locations go into an export
(``reaper``, ``xspf``), ``location`` says how they are written: ``absolute`` (file URI / path of the
original), ``relative`` (to the folder of the exported file), ``corpus`` (relative to the folder that
holds every song of the store), ``name`` (the file's name alone, for exports that must not reveal
the server's paths) or ``url`` (the app's section URL ``{base_url}/audio/{section_id}.wav``, with a
playlist link's ``?token=`` when given; ``xspf`` only).

Clusters are labelled by the names experts gave them where the caller passes them (``names``: run
id → ``{cluster: name}``; this package reads no database), else ``cluster N`` / ``noise``; labels are
distinct within a run (:func:`~sectionist.analysis.export.names.cluster_labels`). Every text cell a spreadsheet may open is
neutralised against formula injection (:mod:`sectionist.store.csvsafe`); XML is built with
:mod:`xml.etree.ElementTree` (escaped); REAPER strings are quoted by REAPER's rules.
"""
