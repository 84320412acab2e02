"""The dashboard's read-only view of one store: :mod:`.store_data` (:class:`~.store_data.StoreData`,
the cached access every page goes through, and :func:`~.store_data.get_data`), its parts by job
(:mod:`.sections`, :mod:`.runs`, :mod:`.projections`, :mod:`.features`, :mod:`.annotations`,
:mod:`.compare`, :mod:`.tables`), and the lab's and the evaluation's server sides (:mod:`.lab`,
:mod:`.evaluation`). Import from the modules."""
