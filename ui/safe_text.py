"""User-supplied text (URL values, file names) as markdown that shows it literally: one place.

Every page that puts text it did not write into st.markdown, st.warning, st.error, st.info,
st.caption or a widget label goes through `literal` (or `escape_markdown` for a table cell).
"""
from __future__ import annotations

import re

from explorer.errors import ExplainedError, without_server_paths

SHOWN_CHARS = 32  # a bad value is echoed as at most this prefix: 100,000 chars took 18 s
_BACKTICKS = re.compile("`+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def printable(text: str) -> str:
    """`text` with every non-printable character (controls, bidi overrides) as an escape."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def literal(value: object, limit: int = SHOWN_CHARS) -> str:
    """Markdown showing `value` as literal text: a code span of its first `limit` characters.

    NB: escaping markdown is not enough: Streamlit's markdown still turns a bare URL into a
    link. Inside a code span nothing is markup: no link, no image, no ':red[…]', no icon.
    """
    text = str(value)
    shown = printable(text[:limit])
    fence = "`" * (max(map(len, _BACKTICKS.findall(shown)), default=0) + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") or not shown.strip() else ""
    cut = len(text) - limit
    return f"{fence}{pad}{shown}{pad}{fence}" + (f" (+{cut:,} more characters)" if cut > 0
                                                 else "")


def escape_markdown(text: str) -> str:
    """Text of our own making shown literally in a markdown table cell.

    NB: not for user-supplied text: a bare URL would still become a link; use `literal`.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def explain(err: BaseException) -> str:
    """What the page says about an error: an ExplainedError's own message, no server path.

    NB: any other exception's text may hold paths, values or a library's internals: it goes
    to the server log only (the caller logs it).
    """
    if isinstance(err, ExplainedError):
        return without_server_paths(str(err))
    return "Something went wrong on this page. The details are in the server log."
