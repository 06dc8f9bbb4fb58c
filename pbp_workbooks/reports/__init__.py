"""Stage 5, reports: what the LA reads, built from the official returns in the ledger.

``consolidation`` loads a period's official returns; ``figures`` computes each return's figures and
RAG rating; ``la_workbook``, ``annual_sheets`` and ``annual_overview`` build the LA consolidated
workbook, ``summary`` the headteacher summaries, ``csv_export`` the CSV tables and
datapackage.json, ``suppression`` the small-number suppression of published figures; ``status``
and ``reminders`` say who has sent what and draft reminders; ``sheets`` holds the xlsxwriter
helpers the output workbooks share; ``consolidate`` runs it all for a period.

May import: ``base``, ``spec``, ``ledger``, ``workbook``, ``intake``.
"""
