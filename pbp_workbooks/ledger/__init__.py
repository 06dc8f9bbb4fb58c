"""Stage 2, ledger: what the LA has received and accepted.

``store`` is the SQLite ledger (every received file, its findings and versions; numbered
migrations); ``history`` reads the accepted returns back for pre-filling and for the cross-return
rules; ``mail_trail`` keeps the email trail (messages received and drafts written).

May import: ``base``, ``spec``.
"""
