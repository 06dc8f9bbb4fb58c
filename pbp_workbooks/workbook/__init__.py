"""Stage 3, workbook: the locked Excel workbooks the LA issues.

``writer`` lays a Spec out with xlsxwriter (inputs, formulas, the Checks sheet, protection);
``stamp`` makes a batch of issued workbooks from one prototype; ``generate`` issues a period's
workbooks to every provision, pre-filled from the roster and the ledger;
``xlsxwriter_internals`` is the one place xlsxwriter's private names are used.

May import: ``base``, ``spec``, ``ledger``.
"""
