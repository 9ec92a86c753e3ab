"""The benchmark worker: fetches a job's artifacts and dataset, runs the tool, keeps the results.

This package is also the shared lower layer: the scheduler imports its contract, job model,
storage and results-store interfaces. It never imports ``invoke`` or ``docker``.
"""
