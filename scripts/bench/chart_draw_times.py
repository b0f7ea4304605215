"""How long each of the Explorer's charts takes to draw the first time, in chromium.

    python -m scripts.bench.chart_draw_times              # 5 rounds
    python -m scripts.bench.chart_draw_times --rounds 9

A bare page (no Streamlit) loads the vendored plotly.js and the Explorer's figures for a
drawn digit, exactly as the server sends them, and draws each into a new element with
Plotly.newPlot, round after round: "as shipped", and "tight margins" (every margin cut to
10 px, so plotly's automargin must widen them and draw the chart a second time, as all
charts did before their margins were set to fit). Medians in ms per chart, and how many
charts automargin widened. Needs chromium and playwright.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
from plotly.offline import get_plotlyjs_version

from scripts.bench import browser

# The live component's plotly.js (ui/live.py serves it; scripts do not import Streamlit).
VENDORED = browser.ROOT / "ui" / "live_assets" / "vendor" / \
    f"plotly-cartesian-{get_plotlyjs_version()}.min.js"
PAGE = """<html><head><script src="plotly.js"></script><script src="figures.js"></script>
</head><body style="width: 1200px"><div id="root"></div><script>
const widenedSides = WIDENED_SIDES_JS;
window.drawAll = async (tight) => {
  const out = {}, root = document.getElementById("root");
  root.innerHTML = "";
  for (const [name, spec] of Object.entries(window.FIGURES)) {
    const fig = JSON.parse(spec), div = root.appendChild(document.createElement("div"));
    div.style.width = name.includes("sees") ? "280px" : "380px";
    if (tight) for (const k of "lrb") fig.layout.margin[k] = Math.min(fig.layout.margin[k], 10);
    const start = performance.now();
    await Plotly.newPlot(div, fig.data, fig.layout, {displaylogo: false});
    const size = div._fullLayout._size;
    out[name] = [performance.now() - start,
                 widenedSides(div).map((k) => k + Math.round(size[k]))];
  }
  return out;
};
</script></body></html>""".replace("WIDENED_SIDES_JS", browser.WIDENED_SIDES_JS)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--rounds", type=int, default=5, help="rounds of drawing every chart")
    return p.parse_args(argv)


def write_page(folder: Path) -> None:
    """The bare page, plotly.js and the Explorer's figures (a drawn 7-like digit) in folder."""
    from explorer.figures.base import to_json
    from explorer.figures.explorer import explorer_figures
    from explorer.maths.confidence import temperature_sweep

    logits = np.array([-3.1, 0.4, 2.2, 1.0, -6.5, -2.0, -9.3, 11.8, -1.2, 3.3], np.float32)
    image28 = np.zeros((28, 28), np.float32)
    image28[5:8, 6:22], image28[8:24, 16:19] = 1.0, 1.0
    figures = explorer_figures(logits, image28, 1.0, temperature_sweep(logits),
                               ovr_logits=logits - 4)
    specs = {name.removeprefix("explorer_"): to_json(fig) for name, fig in figures.items()}
    (folder / "figures.js").write_text(f"window.FIGURES = {json.dumps(specs)};")
    (folder / "index.html").write_text(PAGE)
    shutil.copyfile(VENDORED, folder / "plotly.js")


def serve(folder: Path) -> http.server.ThreadingHTTPServer:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # noqa: D102 - silence per-request lines
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv=None) -> int:
    args = parse_args(argv)
    if browser.no_browser():
        return 2
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        write_page(Path(tmp))
        server = serve(Path(tmp))
        chromium = browser.launch_chromium(playwright)
        page = chromium.new_page(viewport=browser.VIEWPORT)
        page.goto(f"http://127.0.0.1:{server.server_port}/index.html")
        page.wait_for_function("() => window.FIGURES && window.Plotly && window.drawAll")
        rows = {"as shipped": [], "tight margins": []}
        for _ in range(args.rounds):
            for label in rows:
                rows[label].append(page.evaluate("(t) => drawAll(t)", label != "as shipped"))
        chromium.close()
        server.shutdown()
    for label, rounds in rows.items():
        ms = {name: np.median([r[name][0] for r in rounds]) for name in rounds[0]}
        widened = [f"{name} ({' '.join(sides)})" for name, (_, sides) in rounds[-1].items()
                   if sides]
        print(f"{label:<14} total {sum(ms.values()):6.0f} ms (medians of {args.rounds}); "
              + ", ".join(f"{k} {v:.0f}" for k, v in ms.items())
              + f"; widened by automargin: {', '.join(widened) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
