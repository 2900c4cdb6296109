"""Benchmark scorers: NAB's (:mod:`.nab`, :mod:`.nab_files`) and SKAB's (:mod:`.skab`)."""
