"""A lecture hall on this machine: 60 students drawing and submitting at once, through HAProxy,
against 1 and then 2 replicas, then 2 with one killed mid-class (kill -9).

    python -m scripts.bench.class_load                                 # the README's figures
    python -m scripts.bench.class_load --sessions 8 --drawings 2 --replicas 1 --no-fault

Each scenario starts its own deployment (deploy/serve.py's Deployment: the replicas and
HAProxy, on 127.0.0.1 only) over one PostgreSQL in a temporary folder. A teacher starts a
class on the Class page and keeps its live view open; --sessions students join over
--arrive-s seconds and each makes --drawings drawings (class_students.py). Students are
Streamlit protocol clients (st_client.py), not browsers: 60 chromium pages would not fit on
2 cores beside the servers. Reported: stroke -> Prediction and tap -> "Saved" (p50, p95),
errors, and lost submissions: every tap a student saw acknowledged ("Saved", or "not saved
yet", which the page keeps and retries) must be in the store, by student and digit.
Bounded: at most MAX_SESSIONS sessions, and --time-limit seconds per scenario after which
students start no new drawing. Localhost only.
NB: the servers, this client and anything else running share the machine's cores: the load
average is printed with the figures; server CPU per action is the steadier number.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from deploy import postgres
from deploy.serve import Deployment
from scripts.bench import class_students as people
from scripts.bench.load_test import tree_cpu

ROOT = Path(__file__).resolve().parents[2]
MAX_SESSIONS, MAX_DRAWINGS = 120, 20


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--sessions", type=int, default=60, help="students at once")
    parser.add_argument("--drawings", type=int, default=4, help="drawings per student")
    parser.add_argument("--think-ms", type=int, default=3000, help="pause between actions")
    parser.add_argument("--arrive-s", type=float, default=10.0, help="students join over this")
    parser.add_argument("--replicas", default="1,2", help="scenarios without a fault")
    parser.add_argument("--no-fault", action="store_true", help="skip the killed-replica run")
    parser.add_argument("--kill-after-s", type=float, default=25.0,
                        help="the fault run kills a replica this long after the class starts")
    parser.add_argument("--kill-teachers", action="store_true",
                        help="the fault run kills the teacher's replica (else another one)")
    parser.add_argument("--time-limit", type=float, default=300.0,
                        help="seconds per scenario; no new drawing starts after it")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per rerun")
    parser.add_argument("--port", type=int, default=8590, help="HAProxy's port (127.0.0.1)")
    parser.add_argument("--first-replica-port", type=int, default=8691, help="replica ports")
    parser.add_argument("--pg-port", type=int, default=5499, help="PostgreSQL's port")
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout to serve")
    parser.add_argument("--seed", type=int, default=0, help="students' digits and pauses")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    args.replica_counts = [int(n) for n in args.replicas.split(",") if n.strip()]
    if not 1 <= args.sessions <= MAX_SESSIONS or not 1 <= args.drawings <= MAX_DRAWINGS:
        parser.error(f"--sessions must be 1..{MAX_SESSIONS}, --drawings 1..{MAX_DRAWINGS}")
    if not all(1 <= n <= 8 for n in args.replica_counts) or not 10 <= args.time_limit <= 1800:
        parser.error("--replicas each 1..8; --time-limit 10..1800 s")
    return args


def cpu(deployment: Deployment) -> float:
    """CPU seconds so far of the deployment's processes (replicas, HAProxy, PostgreSQL)."""
    pids = [p.pid for p in deployment.procs.values()]
    return sum(tree_cpu(pid) for pid in pids)


def pg_cpu(cluster: postgres.Cluster) -> float:
    return tree_cpu(cluster.process.pid)


async def drive(deployment: Deployment, args, fault: bool) -> tuple[people.Tally, dict]:
    """The teacher, the students and (fault) the kill; the tally and what the kill did."""
    tally, stop, killed = people.Tally(), asyncio.Event(), {}
    teacher, code = await people.start_class(deployment.url, args, tally)
    watching = asyncio.create_task(people.watch(teacher, tally, stop))
    deadline = time.monotonic() + args.time_limit
    students = [asyncio.create_task(people.student(k, deployment.url, code, args, tally,
                                                   deadline)) for k in range(args.sessions)]
    if fault:
        await asyncio.sleep(args.kill_after_s)
        killed = kill_one(deployment, tally, args.kill_teachers)
    await asyncio.wait_for(asyncio.gather(*students), args.time_limit + 4 * args.timeout)
    stop.set()
    await asyncio.gather(watching, return_exceptions=True)
    killed["code"] = code
    return tally, killed


def kill_one(deployment: Deployment, tally: people.Tally, teachers: bool) -> dict:
    """kill -9 the teacher's replica, or the one with the most students but the teacher's."""
    by_students = sorted(tally.replicas, key=lambda r: (r == tally.teacher_replica,
                                                        -tally.replicas[r]))
    name = tally.teacher_replica if teachers else by_students[0]
    os.kill(deployment.procs[name].pid, signal.SIGKILL)
    return {"replica": name, "students": tally.replicas[name], "at": time.monotonic(),
            "teacher": name == tally.teacher_replica}


def stored(db_url: str, code: str) -> Counter:
    """(student, label) -> drawings the store holds for the class."""
    from explorer.classroom.store import open_store

    store = open_store(db_url)
    try:
        return Counter((d.student, str(d.label)) for d in store.drawings(code))
    finally:
        getattr(store, "close", lambda: None)()


def scenario(n: int, args, cluster: postgres.Cluster, fault: bool) -> dict:
    """One deployment of n replicas under the class; its figures."""
    deployment = Deployment(n, args.port, "127.0.0.1", args.first_replica_port,
                            data=cluster.data, db_url=cluster.url(), app_dir=args.app_dir,
                            restart=False, log=sys.stderr)
    deployment.start()
    try:
        load, cpu0, pg0, t0 = os.getloadavg(), cpu(deployment), pg_cpu(cluster), os.times()
        start = time.monotonic()
        tally, killed = asyncio.run(drive(deployment, args, fault))
        wall = time.monotonic() - start
        t1 = os.times()
        db = pg_cpu(cluster) - pg0
        server = cpu(deployment) - cpu0 + db
        client = (t1.user + t1.system) - (t0.user + t0.system)
        held = stored(cluster.url(), killed["code"])
        row = summary(n, fault, tally, held, killed, wall, server, client, load)
        row["postgres_cpu_s"] = db
        return row
    finally:
        deployment.stop()


def pct(values, q) -> float | None:
    return float(np.percentile(values, q)) if values else None


def summary(n, fault, tally, held, killed, wall, server, client, load) -> dict:
    """The scenario's figures as one dict (what the table and --json show)."""
    missing = {f"{who} {label}": c - held[(who, label)]
               for (who, label), c in tally.acked.items() if c > held[(who, label)]}
    lost = sum(missing.values())
    extra = sum(max(0, c - tally.acked[k]) for k, c in held.items())
    lags = teacher_lags(tally)
    return {
        "replicas": n, "fault": fault, "students": sum(tally.replicas.values()),
        "joined": dict(tally.replicas), "strokes": len(tally.strokes),
        "stroke_p50": pct(tally.strokes, 50), "stroke_p95": pct(tally.strokes, 95),
        "taps": len(tally.taps), "tap_p50": pct(tally.taps, 50), "tap_p95": pct(tally.taps, 95),
        "errors": len(tally.errors), "error_lines": tally.errors[:20],
        "acknowledged": sum(tally.acked.values()), "kept": tally.kept,
        "stored": sum(held.values()), "lost": lost, "missing": missing, "duplicates": extra,
        "unsure_taps": sum(tally.unsure.values()), "teacher_lag_p50": pct(lags, 50),
        "teacher_lag_p95": pct(lags, 95), "reconnects": tally.reconnects,
        "killed": {k: v for k, v in killed.items() if k != "at"} if fault else None,
        "wall_s": wall, "actions": tally.actions, "server_cpu_s": server,
        "client_cpu_s": client, "server_cpu_per_action": server / max(tally.actions, 1),
        "load_before": load, "load_after": os.getloadavg()}


def teacher_lags(tally: people.Tally) -> list[float]:
    """Seconds from each "Saved" to the teacher's view first counting that many drawings."""
    shown = sorted(tally.teacher)
    lags = []
    for i, acked_at in enumerate(sorted(tally.acks)):
        seen = next((t for t, count in shown if count >= i + 1 and t >= acked_at), None)
        if seen is not None:
            lags.append(seen - acked_at)
    return lags


def main(argv=None) -> int:
    args = parse_args(argv)
    scenarios = [(n, False) for n in args.replica_counts] + ([] if args.no_fault else [(2, True)])
    results = []
    with tempfile.TemporaryDirectory(prefix="class-load-") as data:
        cluster = postgres.Cluster(Path(data), args.pg_port)
        os.chmod(data, 0o755)  # NB: postgres (another user when we are root) must reach it
        cluster.start()
        try:
            for n, fault in scenarios:
                print(f"\n== {n} replica(s){', one killed' if fault else ''} ==", flush=True)
                results.append(scenario(n, args, cluster, fault))
                print(json.dumps(results[-1], default=str)[:400], flush=True)
        finally:
            cluster.stop()
    from scripts.bench.class_report import report

    report(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    return 0 if all(r["lost"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
