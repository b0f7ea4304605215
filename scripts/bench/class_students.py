"""The people of scripts/bench/class_load.py: students who draw and submit, a teacher who watches.

A student opens the link the teacher's screen gives (?class=CODE&me=TOKEN), then for each
drawing: two strokes (half the digit, then all of it), a tap on the digit ("I drew a 7"),
Clear (and the blank canvas the component then sends); --think-ms between actions; each
drawing at its own size and place. The teacher starts the class on the Class page and keeps
its live view open: the page's fragment reruns every 1.5 s, as the browser asks it to.
A socket that closes (a replica killed) is met as the frontend meets it: reconnect through
the load balancer, resuming the session id, and rerun the page with the values held; a tap
whose answer never came is tapped again, as a student who saw no "Saved" would.
"""
from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from scripts.bench.browser import SHAPES
from scripts.bench.st_client import Run, Session, SessionLost, as_json, canvas_value

DIGITS = [shape for shape in SHAPES if shape.isdigit()]
CODE = re.compile(r"[?&]class=(\w+)")  # the join link the teacher's page shows
RECONNECT_TRIES = 8  # the frontend retries with backoff; so do we (0.5 s, doubling to 4 s)


@dataclass
class Tally:
    """What every session saw; the report is made of it."""

    strokes: list[float] = field(default_factory=list)  # s, rerun sent -> Prediction back
    taps: list[float] = field(default_factory=list)  # s, tap sent -> "Saved" back
    errors: list[str] = field(default_factory=list)  # what a student or the teacher saw wrong
    acked: Counter = field(default_factory=Counter)  # (student, label) -> "Saved" or "kept"
    unsure: Counter = field(default_factory=Counter)  # (student, label) -> taps cut off
    kept: int = 0  # taps answered "not saved yet" (the page keeps and retries them)
    acks: list[float] = field(default_factory=list)  # monotonic s of each "Saved"
    reconnects: list[dict] = field(default_factory=list)  # who, from, to, seconds, errors
    replicas: Counter = field(default_factory=Counter)  # replica -> students who joined there
    teacher: list[tuple[float, int]] = field(default_factory=list)  # (monotonic s, Drawings)
    teacher_replica: str = ""
    actions: int = 0  # reruns asked for by students (strokes, taps, Clears, page loads)


async def reconnect(session: Session, who: str, tally: Tally) -> Run:
    """The socket closed: reconnect as the frontend does and rerun the page; record it."""
    began, closed, before, delay = time.monotonic(), session.closed_at, session.replica, 0.5
    for attempt in range(RECONNECT_TRIES):
        try:
            await session.connect()
            run = await session.rerun()
            tally.reconnects.append({
                "who": who, "from": before, "to": session.replica, "tries": attempt + 1,
                "seconds": run.finished - began, "answer": run.answer_s(),
                "since_close": run.finished - (closed or began), "errors": list(run.errors)})
            return run
        except (OSError, SessionLost, TimeoutError):
            await asyncio.sleep(delay)
            delay = min(delay * 2, 4.0)
    raise SessionLost(f"{who}: no replica took the session back in {RECONNECT_TRIES} tries")


async def act(session: Session, who: str, what: str, action, tally: Tally) -> Run | None:
    """Run `action()`; after a lost socket, reconnect and do it again (a lost tap: unsure)."""
    for _ in range(3):
        try:
            run = await action()
        except SessionLost as lost:
            if what.startswith("tap") and lost.sent:
                tally.unsure[(who, what[4:])] += 1
            await reconnect(session, who, tally)
            continue
        except TimeoutError as err:
            tally.errors.append(f"{who} {what}: {err}")
            return None
        except KeyError as err:  # the page drew no such widget (an error shown instead?)
            tally.errors.append(f"{who} {what}: the page has no widget {err}")
            return None
        tally.errors.extend(f"{who} {what}: error shown: {e[:120]}" for e in run.errors)
        return run
    tally.errors.append(f"{who} {what}: lost three times")
    return None


def canvas_key(session: Session) -> str:
    return max((k for k in session.widgets if k.startswith("explorer_canvas_")),
               key=lambda k: int(k.rsplit("_", 1)[1]))


async def clear(session: Session, who: str, tally: Tally) -> None:
    """Press Clear; the canvas then sends its blank value (a second rerun, as in a browser)."""
    blank = as_json(canvas_value([]))
    if await act(session, who, "clear", lambda: session.click("explorer_clear_canvas"),
                 tally) is not None:
        await act(session, who, "blank", lambda: session.set_and_rerun(
            canvas_key(session), json_value=blank), tally)
    tally.actions += 1


async def stroke(session: Session, who: str, points, tally: Tally) -> None:
    """Send the canvas's value for a stroke through `points`; time the Prediction."""
    key = canvas_key(session)
    value = as_json(canvas_value(points))
    run = await act(session, who, "stroke",
                    lambda: session.set_and_rerun(key, json_value=value), tally)
    tally.actions += 1
    if run is not None and run.answer_s() is None:
        tally.errors.append(f"{who} stroke: no Prediction came back ({run.status})")
    elif run is not None:
        tally.strokes.append(run.answer_s())


async def tap(session: Session, who: str, digit: str, tally: Tally) -> None:
    """Tap the digit drawn; "Saved" or "not saved yet" is an acknowledgement."""
    run = await act(session, who, f"tap {digit}",
                    lambda: session.click(f"class_drew_{digit}"), tally)
    tally.actions += 1
    said = " ".join(run.texts) if run is not None else ""
    if "Saved:" in said:
        tally.acked[(who, digit)] += 1
        tally.acks.append(run.finished)
        tally.taps.append(run.finished - run.sent)
    elif "Not saved yet" in said:
        tally.acked[(who, digit)] += 1
        tally.kept += 1
    elif run is not None:
        tally.errors.append(f"{who} tap {digit}: neither saved nor kept")


async def pause(session: Session, seconds: float) -> None:
    """Think for `seconds`, or less: a socket that closes is met at once, as a browser does."""
    try:
        await asyncio.wait_for(session.closed.wait(), seconds)
    except TimeoutError:
        pass


def hand(rng: random.Random):
    """A student's hand for one drawing: its own size and place on the canvas.

    NB: no two drawings alike: the page refuses to store the very same image twice.
    """
    scale, dx, dy = rng.uniform(0.75, 1.1), rng.uniform(-0.08, 0.08), rng.uniform(-0.06, 0.06)
    return lambda x, y: (0.5 + (x - 0.5) * scale + dx, 0.5 + (y - 0.5) * scale + dy)


async def student(k: int, base: str, code: str, args, tally: Tally, deadline: float) -> None:
    """Join, then draw, tap and clear --drawings times (or until the deadline)."""
    rng = random.Random(args.seed * 1000 + k)
    who = f"load{k:03d}{rng.randrange(16 ** 5):05x}"  # a 12-character student token
    session = Session(base, timeout=args.timeout)
    think = lambda: pause(session, args.think_ms / 1000 * rng.uniform(0.7, 1.3))
    await asyncio.sleep(rng.uniform(0, args.arrive_s))
    try:
        if await act(session, who, "join", lambda: session.open("", f"class={code}&me={who}"),
                     tally) is None:
            return
        tally.replicas[session.replica] += 1
        for _ in range(args.drawings):
            if time.monotonic() > deadline:
                break
            digit, shape = rng.choice(DIGITS), hand(rng)
            whole = [shape(x, y) for x, y in SHAPES[digit]]
            for points in (whole[:max(2, len(whole) // 2)], whole):
                await think()
                await stroke(session, who, points, tally)
            await think()
            await tap(session, who, digit, tally)
            await think()
            await clear(session, who, tally)
    except (OSError, SessionLost) as err:
        tally.errors.append(f"{who}: gave up: {type(err).__name__}: {err}")
    finally:
        await session.close()


async def start_class(base: str, args, tally: Tally) -> tuple[Session, str]:
    """The teacher opens the Class page and starts a class; (their session, its code)."""
    session = Session(base, timeout=args.timeout)
    await session.open("class_page")
    run = await session.click("class_start")
    codes = [m.group(1) for text in run.texts for m in [CODE.search(text)] if m]
    if not codes:
        raise RuntimeError(f"no class code on the teacher's page: {run.errors or run.texts[:3]}")
    tally.teacher_replica = session.replica
    return session, codes[0]


async def watch(session: Session, tally: Tally, stop: asyncio.Event) -> None:
    """The teacher's live view: its fragment rerun every interval, as the frontend does."""
    fragment, interval = next(iter(session.auto_rerun.items()))
    try:
        while not stop.is_set():
            await pause(session, interval)
            if session.closed.is_set():
                run = await reconnect(session, "teacher", tally)
                if not any(CODE.search(text) for text in run.texts):
                    tally.errors.append("teacher: after the reconnect the Class page shows its "
                                        "lobby: the class view lived in the lost replica")
                    return
                continue
            run = await act(session, "teacher", "refresh",
                            lambda: session.rerun(fragment, auto=True), tally)
            if run is not None and "Drawings" in run.answers:
                tally.teacher.append((run.finished, int(run.answers["Drawings"][1])))
    finally:
        await session.close()
