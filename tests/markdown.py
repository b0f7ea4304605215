"""Reading markdown the app wrote: what of it would be markup."""
from __future__ import annotations

import re

_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)*?\1", re.DOTALL)


def outside_code_spans(markdown: str) -> str:
    """The markdown with its code spans (any fence length) cut out: what would be markup."""
    return _CODE_SPAN.sub("", markdown)
