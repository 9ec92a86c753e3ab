"""The operator side: uploads artifacts, prepares runs, submits and watches jobs.

Never imports ``invoke``: ``tasks.py`` is the command line and calls into this package.
"""
