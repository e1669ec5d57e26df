"""Write validation figures computed by tests into sections of docs/validation.md."""

from __future__ import annotations

import re
from pathlib import Path

VALIDATION_DOC = Path(__file__).resolve().parent.parent / "docs" / "validation.md"
HEADER = """# Validation

Figures on this page are computed by the test suite on the real third-party data in
`../shared/data` and rewritten each time the tests run (`make test`). Each section names the
test that writes it.
"""


def update_section(name: str, markdown: str) -> None:
    """Replace (or append) the section ``name`` of docs/validation.md with ``markdown``."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    text = VALIDATION_DOC.read_text(encoding="utf-8") if VALIDATION_DOC.exists() else HEADER
    block = f"{begin}\n{markdown.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    VALIDATION_DOC.write_text(text, encoding="utf-8")
