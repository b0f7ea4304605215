// The Explorer's live part in the browser: figures drawn with Plotly.react (updated in
// place, never rebuilt), and the temperature scrubbed without a server round trip.
// Views: "sees" (the 28×28 preview), "readouts" (top-1, margin, entropy), "charts" (the T
// control, five charts, the exact values), "figure" (any page's chart, ui.widgets.chart).
// Instances share T through a window event.
// NB: concatenated after maths.mjs by ui/live.py, so its functions are in scope here.

const T_EVENT = "dce-temperature";
const INSTANCES = new WeakMap();
let plotlyPromise = null;

function loadPlotly(url) {
  // One <script> per page: Plotly is a UMD bundle that sets window.Plotly.
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!plotlyPromise) {
    plotlyPromise = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      const fail = (why) => { plotlyPromise = null; script.remove(); reject(new Error(why)); };
      // NB: a truncated file still "loads": its syntax error leaves window.Plotly unset.
      script.onload = () => (window.Plotly ? resolve(window.Plotly)
        : fail(`${url} loaded but defined no Plotly: the file is incomplete`));
      script.onerror = () => fail(`cannot load ${url}`);
      document.head.appendChild(script);
    });
  }
  return plotlyPromise;
}

const stats = (window.__dceLive = window.__dceLive || { updates: 0, reacts: 0, last: 0 });

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function tFromPosition(pos, data) {
  return data.t_min * Math.pow(data.t_max / data.t_min, pos / 1000);
}

function positionFromT(t, data) {
  return Math.round(1000 * Math.log(t / data.t_min) / Math.log(data.t_max / data.t_min));
}

async function react(inst, div, name, json, config) {
  // A new figure of the same frame is patched into the SVG (patch.mjs); any other is
  // drawn with Plotly.react, which diffs against what is drawn.
  const shown = inst.drawn[name];
  if (shown && shown.json === json) return;
  const fig = JSON.parse(json);
  const frame = frameOf(fig);  // NB: now: Plotly fills in the objects it is given
  const Plotly = await loadPlotly(inst.data.plotly_url);
  if (inst.drawn[name] !== shown) return;  // a newer figure came while plotly.js loaded
  inst.drawn[name] = { json, fig, frame, config, stale: false };
  // NB: for the same reason the old figure, if a patch needs it, is re-read from its JSON.
  let old = null;
  if (shown && inst.view !== "figure" && !inst.dragging && div._fullLayout
      && shown.frame === frame
      && patchFigure(div, () => (old = old || JSON.parse(shown.json)), fig)) {
    Object.assign(div, { data: fig.data, layout: fig.layout });  // what an export reads
    inst.drawn[name].stale = true;  // ...but hover still reads the old: see exact()
    stats.patches = (stats.patches || 0) + 1;
    return;
  }
  // NB: the one-object form: a figure's animation frames (the replay's slider) come along.
  await Plotly.react(div, { data: fig.data, layout: fig.layout, frames: fig.frames, config });
  stats.reacts += 1;
  stats.lastReact = name;  // for benchmarks: which chart was redrawn whole
}

function exact(inst, div, name) {
  // A patched chart redrawn by Plotly from its figure: its hover labels then tell the truth.
  const shown = inst.drawn[name];
  if (!shown || !shown.stale || !window.Plotly) return Promise.resolve();
  shown.stale = false;
  stats.exact = (stats.exact || 0) + 1;
  return window.Plotly.react(div, shown.fig.data, shown.fig.layout, shown.config);
}

function onResize(inst) {
  // NB: instead of plotly's `responsive`, whose redraw of a patched chart would draw its
  // old values: a patched chart is redrawn exactly, any other resized.
  clearTimeout(inst.resizeTimer);
  inst.resizeTimer = setTimeout(() => {
    for (const [name, div] of Object.entries(inst.plots || { sees: inst.plot })) {
      const shown = inst.drawn[name];
      if (!shown || !window.Plotly) continue;
      if (shown.stale) exact(inst, div, name);
      else window.Plotly.Plots.resize(div);
    }
  }, 100);
}

function plotConfig(name, data) {
  const filename = `digit-explorer-${name}-T${pyG(data.temperature)}`;
  return { displaylogo: false, responsive: false, modeBarButtons: [["toImage"]],
           toImageButtonOptions: { format: "png", filename, scale: 3 } };
}

// --- view: sees ---------------------------------------------------------------------------
function buildSees(inst) {
  const frame = inst.root.appendChild(el("div", "dce-sees-frame"));
  inst.plot = frame.appendChild(el("div", "dce-sees"));
  inst.plot.addEventListener("pointerenter", () => exact(inst, inst.plot, "sees"));
  frame.appendChild(el("div", "dce-sees-blank", "28 × 28 pixels"));  // shown while static
}

function updateSees(inst, data) {
  // NB: one config for the placeholder and the drawing: a changed config makes
  // Plotly.react rebuild the plot from scratch; "static" only stops the pointer.
  inst.root.classList.toggle("dce-static", !!data.static);
  return react(inst, inst.plot, "sees", data.figure, { displayModeBar: false });
}

// --- view: figure (a lab page's chart) ----------------------------------------------------
// NB: always Plotly.react, never patched: a lab figure's axes may autorange with its data.
function buildFigure(inst) {
  inst.plot = inst.root.appendChild(el("div", "dce-figure"));
  inst.plots = { figure: inst.plot };
}

function updateFigure(inst, data) {
  if (inst.drawn.figure && inst.drawn.figure.json === data.figure) return null;  // a rerun
  // The figure's own size before plotly.js has drawn it: the page does not jump.
  const layout = (JSON.parse(data.figure).layout) || {};
  inst.plot.style.height = `${layout.height || 450}px`;
  inst.plot.style.width = data.content && layout.width ? `${layout.width}px` : "";
  return react(inst, inst.plot, "figure", data.figure, data.config);
}

// --- view: readouts -----------------------------------------------------------------------
function buildReadouts(inst) {
  inst.cells = {};
  for (const [key, label, help] of [
    ["top1", "Top-1 probability", "Close to 1 it is written 1 − (the other classes' sum)"],
    ["margin", "Margin to the runner-up", "Top-1 minus second-best probability"],
    ["entropy", "Entropy", "0 = certain; log2(10) ≈ 3.32 bits = all ten equally likely"],
  ]) {
    const box = el("div", "dce-metric");
    box.title = help;
    box.appendChild(el("div", "dce-metric-label", label));
    inst.cells[key] = box.appendChild(el("div", "dce-metric-value"));
    inst.cells[key].dataset.readout = key;
    inst.root.appendChild(box);
  }
  inst.caption = inst.root.appendChild(el("div", "dce-caption"));
}

function showReadouts(inst, t) {
  if (!inst.data || !inst.data.sources) return;
  const numbers = readouts(inst.data.sources.logits, t);
  for (const key of Object.keys(inst.cells)) inst.cells[key].textContent = numbers[key];
  inst.caption.textContent = `Numbers at T = ${pyG(t)}.`;
}

// --- view: charts -------------------------------------------------------------------------
function buildControl(inst) {
  const row = inst.root.appendChild(el("div", "dce-control"));
  const label = row.appendChild(el("label", "dce-control-label", "Temperature T (log scale)"));
  inst.tText = label.appendChild(el("span", "dce-t-value"));
  inst.slider = row.appendChild(el("input", "dce-slider"));
  Object.assign(inst.slider, { type: "range", min: 0, max: 1000, step: 1 });
  inst.slider.setAttribute("aria-label", "Temperature T (log scale)");
  inst.slider.addEventListener("input", () => scrub(inst, tFromPosition(+inst.slider.value, inst.data)));
  inst.slider.addEventListener("change", () => release(inst, tFromPosition(+inst.slider.value, inst.data)));
  const buttons = row.appendChild(el("div", "dce-buttons"));
  inst.fitted = buttons.appendChild(el("button", "dce-button"));
  inst.fitted.addEventListener("click", () => release(inst, inst.data.fitted_t, true));
  const one = buttons.appendChild(el("button", "dce-button", "T = 1"));
  one.addEventListener("click", () => release(inst, 1, true));
}

function buildCharts(inst) {
  // The T control now; the charts' grid when the first panel table arrives (buildGrid).
  buildControl(inst);
  inst.plots = {};
  inst.grid = inst.root.appendChild(el("div", "dce-grid"));
  inst.tableTitle = inst.root.appendChild(el("div", "dce-table-title"));
  inst.table = inst.root.appendChild(el("table", "dce-table"));
  inst.idleNote = inst.root.appendChild(el("div", "dce-idle-note"));
  inst.tableNote = inst.root.appendChild(el("div", "dce-caption"));
}

function buildGrid(inst, panel, notes) {
  // One cell per chart of the panel's table, its rows in order; the argmax fact under the
  // first row. NB: built once: a stroke updates these plots in place.
  inst.idleNote.textContent = notes.idle;
  inst.tableNote.textContent = notes.table;
  inst.rows = Object.fromEntries(panel.map((chart) => [chart.name, chart]));
  const rows = [...new Set(panel.map((chart) => chart.row))].sort((a, b) => a - b);
  rows.forEach((r, i) => {
    const charts = panel.filter((chart) => chart.row === r);
    const grid = inst.grid.appendChild(el("div", `dce-row dce-row-${charts.length}`));
    for (const { name } of charts) {
      const cell = grid.appendChild(el("div", "dce-cell"));
      const plot = (inst.plots[name] = cell.appendChild(el("div", "dce-plot")));
      plot.dataset.chart = name;
      plot.addEventListener("pointerenter", () => exact(inst, plot, name));
      plot.captionNode = cell.appendChild(el("div", "dce-caption"));
    }
    if (i === 0) inst.fact = inst.grid.appendChild(el("div", "dce-fact"));
  });
}

function renderTable(inst, t) {
  const { logits, ovr_logits: ovr } = inst.data.sources;
  const rows = valuesTable(logits, t, ovr);
  const columns = Object.keys(rows[0]);
  const head = inst.table.tHead && [...inst.table.tHead.rows[0].cells].map((c) => c.textContent);
  if (!head || head.join() !== columns.join()) {  // first time, or the σ column came or went
    inst.table.replaceChildren();
    const headRow = inst.table.createTHead().insertRow();
    for (const name of columns) headRow.appendChild(el("th", "", name));
    const body = inst.table.createTBody();
    for (let k = 0; k < rows.length; k++) {
      const tr = body.insertRow();
      for (let c = 0; c < columns.length; c++) tr.insertCell();
    }
  }
  rows.forEach((row, k) => columns.forEach((name, c) => {
    setText(inst.table.tBodies[0].rows[k].cells[c], String(row[name]));
  }));
  setText(inst.tableTitle, `Exact values at T = ${pyG(t)}`);
}

// --- scrubbing: every chart moved with T from the panel's table -----------------------------
// NB: Plotly.update/restyle/animate redraw whole subplots: 25-110 ms a chart in a GPU-less
// chromium, too slow to follow a drag. So while T is dragged each chart's figure at T is
// derived from the one drawn, by its row's rules (follows, markers, title), and set into
// the SVG by the same patcher a stroke uses (patch.mjs), only its changed traces. On release
// the server sends the figures at the new T, patched in the same way.
function atT(inst, name, t) {
  const shown = inst.drawn[name];
  return shown ? figureAtT(inst.rows[name], shown.fig, inst.data.sources, t) : null;
}

function moveCharts(inst, t) {
  let ok = true;
  for (const [name, div] of Object.entries(inst.plots)) {
    const moved = atT(inst, name, t);
    if (moved) ok = patchFigure(div, () => inst.drawn[name].fig, moved[0], moved[1]) && ok;
  }
  if (!ok) console.warn("digit explorer: chart structure not found; T shows on release");
}

function showT(inst, t) {
  inst.tText.textContent = ` ${pyG(t)}`;
  inst.slider.value = positionFromT(t, inst.data);
}

function scrub(inst, t) {
  // Called per input event; the work runs at most once per animation frame.
  inst.pendingT = t;
  inst.dragging = true;
  window.dispatchEvent(new CustomEvent(T_EVENT, { detail: t }));
  if (inst.frame) return;
  inst.frame = requestAnimationFrame(() => {
    inst.frame = 0;
    applyT(inst, inst.pendingT);
  });
}

function applyT(inst, t) {
  if (!inst.data || !inst.data.sources || !window.Plotly || !inst.ready) return;
  const start = performance.now();
  inst.tText.textContent = ` ${pyG(t)}`;
  moveCharts(inst, t);
  renderTable(inst, t);
  stats.updates += 1;
  stats.last = performance.now();
  stats.busy = (stats.busy || 0) + stats.last - start;  // ms spent updating, for benchmarks
  stats.t = t;
}

function release(inst, t, move) {
  // NB: the nonce makes every release a new value, so the server hears a repeat too.
  inst.dragging = false;
  if (move) { showT(inst, t); window.dispatchEvent(new CustomEvent(T_EVENT, { detail: t })); }
  applyT(inst, t);
  inst.setStateValue("temperature", { t, n: `${Date.now()}-${Math.random()}` });
}

async function updateCharts(inst, data) {
  if (!data.sources) return;
  if (!inst.rows) buildGrid(inst, data.panel, data.notes);
  stats.sources = data.sources;  // for tests and benchmarks: the logits the panel follows
  inst.fitted.textContent = `Use fitted T (${pyG(data.fitted_t)})`;
  if (!inst.dragging) showT(inst, data.temperature);
  for (const [name, div] of Object.entries(inst.plots)) {
    div.captionNode.textContent = inst.rows[name].caption;
  }
  inst.fact.textContent = data.fact;
  inst.fact.classList.toggle("dce-warning", !data.argmax_constant);
  await Promise.all(Object.keys(inst.plots).map(
    (name) => react(inst, inst.plots[name], name, data.figures[name], plotConfig(name, data))));
  inst.ready = true;
  if (inst.dragging) moveCharts(inst, inst.pendingT);  // a stroke landed mid-drag
  renderTable(inst, inst.dragging ? inst.pendingT : data.temperature);
}

// --- the component ------------------------------------------------------------------------
const VIEWS = {
  sees: [buildSees, updateSees],
  readouts: [buildReadouts, (inst, data) => showReadouts(inst, data.temperature)],
  charts: [buildCharts, updateCharts],
  figure: [buildFigure, updateFigure],
};

function create(parentElement, view) {
  const root = parentElement.querySelector(".dce-live") || parentElement;
  root.classList.add(`dce-view-${view}`);
  const inst = { root, view, drawn: {}, data: null };
  VIEWS[view][0](inst);
  if (view !== "readouts") {
    inst.onResize = () => onResize(inst);
    window.addEventListener("resize", inst.onResize);
  } else {
    inst.onT = (event) => showReadouts(inst, event.detail);
    window.addEventListener(T_EVENT, inst.onT);
  }
  return inst;
}

export default function (args) {
  const { data, parentElement, setStateValue } = args;
  let inst = INSTANCES.get(parentElement);
  if (!inst || inst.view !== data.view) {
    inst = create(parentElement, data.view);
    INSTANCES.set(parentElement, inst);
  }
  inst.setStateValue = setStateValue;
  inst.root.classList.toggle("dce-idle", !!data.idle);
  // A blank canvas keeps the last charts drawn, dimmed: the next stroke then updates them
  // in place instead of building five plots from nothing.
  if (data.idle && inst.ready) return () => forget(inst, parentElement);
  inst.data = data;
  inst.root.classList.toggle("dce-present", !!data.presentation);
  loadPlotly(data.plotly_url).then(() => showProblem(inst, null), (err) => {
    console.error("digit explorer:", err);
    if (data.view !== "readouts") showProblem(inst, PLOTLY_PROBLEM);
  });
  Promise.resolve(VIEWS[data.view][1](inst, data)).catch((err) => console.error(err));
  return () => forget(inst, parentElement);
}

const PLOTLY_PROBLEM = "The charts can't be drawn: the page could not load plotly.js. Reload "
  + "the page; if this persists, restart the app, which repairs its copy of plotly.js.";

function showProblem(inst, text) {
  // One line in place of the charts, so an empty panel never goes unexplained.
  let note = inst.root.querySelector(":scope > .dce-problem");
  if (!text) return note && note.remove();
  if (!note) inst.root.prepend((note = el("div", "dce-problem")));
  note.textContent = text;
}

function forget(inst, parentElement) {
  if (inst.onT) window.removeEventListener(T_EVENT, inst.onT);
  if (inst.onResize) window.removeEventListener("resize", inst.onResize);
  INSTANCES.delete(parentElement);
}
