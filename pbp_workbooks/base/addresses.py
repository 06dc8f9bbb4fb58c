"""What the toolkit accepts as an email address, in one place: the workbook's Checks sheet
tests it in a formula (expr.not_email), the LA's field rules (schemas) and the roster's
finance contacts (roster) use the same pattern, so no two verdicts disagree."""

from __future__ import annotations

import re

# One address: one @, no spaces or control characters, a dot after the @ with something
# either side of it.
EMAIL = re.compile(r"^[^@ \x00-\x1f]+@[^@ \x00-\x1f]+\.[^@ \x00-\x1f]*[^@ .\x00-\x1f]\Z")
