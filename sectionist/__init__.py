"""The program on top of the three layers: :mod:`sectionist.settings` (one settings object, read
from the environment once) and :mod:`sectionist.cli` (the one ``sectionist`` command).

Layers, lowest first: :mod:`store` → :mod:`analysis` → :mod:`dashboard` → :mod:`sectionist`.
Only :mod:`sectionist.settings` (a leaf) may be imported from below, by the dashboard.
"""
