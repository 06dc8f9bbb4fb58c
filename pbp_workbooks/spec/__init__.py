"""Stage 1, spec: what a return is, declared once.

``model`` loads a workbook template (``workbook_templates/*.toml``) into a Spec of sections and fields
and derives every cell address and defined name; ``expr`` is the typed expression language that
becomes both Excel formulas and exact Decimal arithmetic; ``rules`` loads the named rules
(``validators/*.toml``) and the LA's thresholds; ``calc`` computes formula fields and the Checks list;
``findings`` is what a rule reports (code, severity, sheet, cell, message).

May import: ``base``.
"""
