"""asv benchmarks of odebench (see asv.conf.json); ``overhead.py`` is a stand-alone script."""
