"""Stage 4, intake: returned files in, findings and the ledger's record out.

``xlsx_safe`` vets a received file and reads it without trusting it (bounded zip and XML, no
entities; F- codes); ``reader`` turns a returned workbook into identity and inputs by defined name;
``schemas`` and ``validation`` apply the field, cross-field, template and cross-return rules;
``ingest`` archives, validates, records and writes ``feedback`` workbooks; ``mail_intake`` and
``mail_ingest`` take returns from .eml/.msg messages; ``drafts`` writes reply drafts.

May import: ``base``, ``spec``, ``ledger``, ``workbook``.
"""
