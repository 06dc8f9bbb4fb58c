"""Stage 6, demo: sample data and the end-to-end run of ``pbp demo``.

``samples`` and ``annual_samples`` fill returns as a finance officer would (clean and with
mistakes); ``mailbox`` sends some of them as emails; ``run`` drives init, generate, fill, ingest
and consolidate in a new folder.

May import: every earlier stage.
"""
