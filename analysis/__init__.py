"""sectionist analysis: cut songs into sections, describe, cluster, project and explain them.

The package never imports dash or flask; everything it computes goes to a store
(:mod:`analysis.store`) that the dashboard reads.
"""

__version__ = "0.1.0"
SCHEMA_VERSION = 1
