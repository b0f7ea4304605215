"""A separate process that writes to the class store, for the concurrency tests.

    python -m tests.class_store_writer URL N TAG

Opens the store (migrating it, maybe at the same moment as others), prints "ready", reads a
class code from stdin, submits N drawings as student TAG and prints their ids as JSON.
"""
from __future__ import annotations

import json
import sys

from explorer.classroom.store import open_store
from tests.class_store_kit import fake_logits, submit


def main(argv=None) -> int:
    url, n, tag = (argv or sys.argv[1:])[:3]
    store = open_store(url, scorer=fake_logits)
    print("ready", flush=True)
    code = sys.stdin.readline().strip()
    who = f"{tag}-writer"
    ids = [submit(store, code, who, i % 10, i) for i in range(int(n))]
    store.close()
    print(json.dumps(ids), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
