"""Prefect flows over ``bsb_core``: collection, scoring and the nightly job that chains them.

``flows/nightly.py:nightly`` is the entrypoint of the ``bsb-nightly`` deployment in
``prefect.yaml``; ``bsb run`` runs the same flow once in-process.
"""
