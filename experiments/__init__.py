"""Runnable studies, benchmarks and the ``similar`` command line. Nothing imports from here."""
