"""Stage 0, base: what every stage uses.

Settings (``config``: pbp.toml), the LA's roster (``roster``), the workspace folders (``workspace``),
money in pence (``money``), financial years and quarters (``periods``), file names and atomic writes
(``filenames``), errors and exit codes (``errors``), Ctrl-C handling, worker pools and progress lines,
and where the shipped data folders are (``resources``).

May import: the standard library and third-party packages only, never another stage.
"""
