"""The sandbox: the whole AWS workflow on this machine, with no account.

A product feature (``invoke sandbox-up``/``sandbox-down``) that the tests and the benchmark
scripts reuse: moto in server mode as the AWS endpoint (its Batch runs the worker image on the
local Docker engine), a local registry, and the helpers that start them. Nothing here imports
``tests``.
"""
