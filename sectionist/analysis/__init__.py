"""sectionist analysis: cut songs into sections, describe, cluster, project and explain them.

The package never imports dash or flask; everything it computes goes to a store
(the :mod:`store` package) that the dashboard reads.
"""

__version__ = "0.1.0"
