"""The command line: Invoke tasks grouped by concern, assembled by the root ``tasks.py``.

Each module holds the tasks of one concern (``runs``: local runs and results; ``images``;
``batch``: Batch runs; ``infrastructure``: stack, AMI, costs; ``sandbox``). A task resolves
its options (falling back to the ``bench.*`` settings of ``invoke.yaml``), calls one function
of the ``scheduler``/``worker`` packages and renders the result; ``common.errors`` turns
every error into a message and its documented exit code. The modules import only light
modules at import time, so ``invoke --list`` loads no AWS, Docker or Neo4j library.
"""
