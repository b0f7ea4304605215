"""Export a class's drawings as a dataset: a manifest (Parquet and CSV) beside the PNGs.

    python scripts/export_class.py K7QZM --out /tmp/k7qzm
    python scripts/export_class.py K7QZM --out /tmp/k7qzm --db postgresql+psycopg://u@host/db
    python -c 'import pandas as pd; print(pd.read_parquet("/tmp/k7qzm/manifest.parquet"))'

explorer/classroom/export.py says what is in the folder.
"""
from __future__ import annotations

import argparse
import sys

from explorer.classroom.database import CLASS_DB_ENV
from explorer.classroom.export import MANIFEST, export_class
from explorer.classroom.store import open_store
from explorer.errors import ExplainedError


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("code", help="the class code (any case)")
    p.add_argument("--out", required=True, help="a new (or empty) folder to write")
    p.add_argument("--db", default=None,
                   help=f"the store's SQLAlchemy URL; None means ${CLASS_DB_ENV}, then "
                   f"data/class.sqlite3")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        store = open_store(args.db)
        try:
            folder = export_class(store, args.code, args.out)
        finally:
            store.close()
    except ExplainedError as err:  # no class, a database away, a folder in use: one line
        print(f"export_class.py: error: {err}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    n = len(list((folder / "png").iterdir()))
    print(f"wrote {n} drawing{'s' * (n != 1)} of class {args.code.strip().upper()} to "
          f"{folder}\nread it with: pd.read_parquet({str(folder / MANIFEST)!r})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
