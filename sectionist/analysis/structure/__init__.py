"""Per-song structure: segmentations whose labels say which segments of a song are the same part.

One module per scheme, each declaring its :class:`~sectionist.analysis.structure.base.Scheme`:
:mod:`.merged`, :mod:`.novelty`, :mod:`.laplacian`, :mod:`.kmeans15`; :mod:`.schemes` registers them
(``STRUCTURES``). Shared pieces: :mod:`.base` (the result and the interface), :mod:`.beats`
(beat-synchronous features), :mod:`.graph` (the recurrence graph and its Laplacian),
:mod:`.checkerboard` (novelty curves and peaks), :mod:`.helpers` (clustering and merging);
:mod:`.writer` turns results into rows of the ``segments`` table (``sectionist segment``:
:mod:`sectionist.analysis.commands.segment`).

This package imports nothing: import the module that holds a name.
"""
