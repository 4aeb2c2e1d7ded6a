"""The benchmark suite (``make bench``, ``make soak``): figures with same-run baselines.

Nothing here is imported by the tests; the tests never assert a time.
"""
