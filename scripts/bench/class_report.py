"""The table of scripts/bench/class_load.py: one row per scenario, then the killed replica."""
from __future__ import annotations

import os

import numpy as np

CORE_SHARE = 0.7  # a replica kept at most ~70 % busy keeps its queue, and so p95, short


def seconds(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def report(results: list[dict], args) -> None:
    """Print the scenarios' figures, the fault's story and the capacity estimate."""
    print(f"\nmachine: {os.cpu_count()} CPUs, shared (load average per scenario below); "
          f"{args.sessions} students x {args.drawings} drawings (2 strokes + a tap + Clear "
          f"each), think {args.think_ms} ms, a teacher's live view open")
    print(f"\n{'replicas':<14}{'joined':>7}{'strokes':>8}{'p50':>7}{'p95':>7}{'taps':>6}"
          f"{'tap p50':>8}{'tap p95':>8}{'errors':>7}{'acked':>6}{'stored':>7}{'lost':>5}"
          f"{'dup':>4}{'teacher p95':>12}{'srv CPU/act':>12}{'srv cores':>10}{'load':>12}")
    for r in results:
        name = f"{r['replicas']}{' (1 killed)' if r['fault'] else ''}"
        load = f"{r['load_before'][0]:.1f}->{r['load_after'][0]:.1f}"
        print(f"{name:<14}{r['students']:>7}{r['strokes']:>8}{seconds(r['stroke_p50']):>7}"
              f"{seconds(r['stroke_p95']):>7}{r['taps']:>6}{seconds(r['tap_p50']):>8}"
              f"{seconds(r['tap_p95']):>8}{r['errors']:>7}{r['acknowledged']:>6}"
              f"{r['stored']:>7}{r['lost']:>5}{r['duplicates']:>4}"
              f"{seconds(r['teacher_lag_p95']):>12}{r['server_cpu_per_action']:>12.3f}"
              f"{r['server_cpu_s'] / r['wall_s']:>10.2f}{load:>12}")
    for r in results:
        for line in r["error_lines"]:
            print(f"  {r['replicas']}{'k' if r['fault'] else ''}: {line}")
        if r["fault"]:
            fault(r)
    capacity(results, args)


def fault(r: dict) -> None:
    """What the killed replica's students saw."""
    killed, moves = r["killed"], r["reconnects"]
    times = [m["seconds"] for m in moves]
    tries = max((m["tries"] for m in moves), default=0)
    print(f"\nkilled: {killed['replica']} (kill -9) holding {killed['students']} students; "
          f"{len(moves)} sessions reconnected ({sorted({m['to'] for m in moves})}): "
          f"reconnect -> answer p50 {seconds(np.median(times) if times else None)} s, max "
          f"{seconds(max(times) if times else None)} s, at most {tries} tries; "
          f"errors shown after it: {sum(len(m['errors']) for m in moves)}; taps cut off "
          f"{r['unsure_taps']} (tapped again: duplicates in the store {r['duplicates']}); "
          f"lost {r['lost']}")


def capacity(results: list[dict], args) -> None:
    """Students per core at this pace, from the server's CPU per action."""
    calm = [r for r in results if not r["fault"]]
    if not calm:
        return
    per_action = min(r["server_cpu_per_action"] for r in calm)
    actions_per_s = 4 / (4 * args.think_ms / 1000)  # 4 actions a drawing, one per think
    per_student = per_action * actions_per_s  # cores one student keeps busy
    print(f"\ncapacity: {per_action * 1000:.0f} ms of server CPU per action (stroke, tap or "
          f"Clear; replicas + HAProxy + PostgreSQL); a student acting every "
          f"{args.think_ms / 1000:g} s keeps {per_student:.3f} of a core busy: "
          f"{1 / per_student:.0f} students per core at 100 %, ~{CORE_SHARE / per_student:.0f} "
          f"at {CORE_SHARE:.0%}. One replica is one Python process (one GIL): about one core.")
    db = sum(r.get("postgres_cpu_s", 0) for r in calm) / sum(r["server_cpu_s"] for r in calm)
    print(f"PostgreSQL's share of the server CPU: {db:.1%}; the teacher's live view (a rerun "
          "every 1.5 s) is in the server CPU, not in the actions counted.")
