// A new stroke's figures drawn into the SVG Plotly already drew, when only values changed.
// NB: Plotly.react redraws every subplot it touches: 60-150 ms a chart in a GPU-less
// chromium, five charts per stroke. When the new figure has the same frame (layout but
// the title, trace types, x values, axes ranges), its bars, lines, colours, labels and
// title are set straight in the SVG from Plotly's own axis scales: a few ms a chart. The
// graph div then holds the new data (exports read it), but Plotly's hover state still
// holds the old: the component redraws such a chart exactly when the pointer enters it.
// Concatenated after maths.mjs and before component.mjs by ui/live.py.

const TYPED = { f8: Float64Array, f4: Float32Array, i4: Int32Array, i2: Int16Array,
                i1: Int8Array, u4: Uint32Array, u2: Uint16Array, u1: Uint8Array };
const VARYING = ["y", "z", "text", "marker", "line", "opacity", "name", "hovertemplate",
                 "hoverinfo"];

function numbers(spec) {
  // A plotly data array: a list, or the {dtype, bdata} base64 spec plotly.py writes.
  if (spec == null) return null;
  if (Array.isArray(spec)) return spec.map(Number);
  if (typeof spec.bdata === "string" && TYPED[spec.dtype]) {
    // NB: a plain loop: Uint8Array.from(text, callback) took 15 ms a stroke here.
    const text = atob(spec.bdata), bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return Array.from(new TYPED[spec.dtype](bytes.buffer));
  }
  return null;
}

function frameOf(fig) {
  // What must be equal for a patch: all but the title and the values that VARYING names.
  const { title, ...layout } = fig.layout || {};
  const traces = (fig.data || []).map((trace) => {
    const rest = {};
    for (const key of Object.keys(trace)) if (!VARYING.includes(key)) rest[key] = trace[key];
    const { color: _c, ...marker } = trace.marker || {};
    const { width: _w, color: _l, ...line } = trace.line || {};
    return [rest, marker, line, Array.isArray(trace.text) ? trace.text.length : typeof trace.text];
  });
  return JSON.stringify([layout, title && title.x, traces]);
}

function axes(gd, trace) {
  const full = gd._fullLayout;
  const name = (id, letter) => `${letter}axis${(id || letter).slice(1)}`;
  return [full && full[name(trace.xaxis, "x")], full && full[name(trace.yaxis, "y")]];
}

const pixel = (axis, value) => axis.c2p(axis.d2c(value));

// Writes only what changed: an unchanged DOM write still costs the page a style and layout
// pass, and during a drag most of a chart stays as it is.
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function setAttr(node, name, value) {
  const text = String(value);
  if (node.getAttribute(name) !== text) node.setAttribute(name, text);
}

function setStyle(node, name, value) {
  // NB: compared with what was last written, not read back: the browser normalises colours.
  const text = String(value), key = `__dce_${name}`;
  if (node[key] !== text) { node.style[name] = text; node[key] = text; }
}

function colourAt(colour, k) {
  return Array.isArray(colour) ? colour[k] : colour;
}

function patchBars(group, trace, old, xa, ya) {
  const ys = numbers(trace.y);
  const points = group.querySelectorAll(".point");
  if (!ys || points.length !== ys.length) return false;
  const base = pixel(ya, 0);
  const moves = [];
  for (let k = 0; k < ys.length; k++) {
    const path = points[k].querySelector("path");
    const m = path && (path.getAttribute("d") || "").match(/^M([^,]+),[^V]+V([^H]+)H([^V]+)V/);
    if (!m) return false;
    const label = points[k].querySelector("text.bartext");
    const t = label && (label.getAttribute("transform") || "").match(/^translate\(([^,]+),/);
    if (label && (!t || !label.classList.contains("bartext-outside"))) return false;
    moves.push({ path, m, label, t, tip: pixel(ya, ys[k]) });
  }
  for (const [k, { path, m, label, tip }] of moves.entries()) {
    setAttr(path, "d", `M${m[1]},${base}V${tip}H${m[3]}V${base}Z`);
    const fill = colourAt((trace.marker || {}).color, k);
    if (fill) setStyle(path, "fill", fill);
    if (label) setText(label, String(colourAt(trace.text, k)));
  }
  // NB: every box read after every write: one layout, not one per label.
  const boxes = moves.map(({ label }) => label && label.getBBox());
  for (const [k, { label, t, tip }] of moves.entries()) {
    if (!label) continue;
    // NB: plotly's outside label: TEXTPAD (3 px) beyond the bar's end, from its box.
    const box = boxes[k];
    const y = ys[k] >= 0 ? tip - 3 - (box.y + box.height) : tip + 3 - box.y;
    setAttr(label, "transform", `translate(${t[1]},${y})`);
  }
  return true;
}

function patchLine(group, trace, old, xa, ya) {
  const xs = numbers(trace.x), ys = numbers(trace.y);
  const line = group.querySelector("path.js-line");
  if (!xs || !ys || !line) return false;
  // Where the points are drawn now (a T drag moves the marker without a new figure).
  const drawn = (line.getAttribute("d") || "").slice(1).split("L").map((p) => p.split(",").map(Number));
  let oldXs = null, oldYs = null;  // decoded only if the drawn path can't say
  const before = (i) => {
    if (drawn.length === xs.length) return drawn[i];
    oldXs = oldXs || numbers(old().x);
    oldYs = oldYs || numbers(old().y);
    return [pixel(xa, oldXs[i]), pixel(ya, oldYs[i])];
  };
  setAttr(line, "d", "M" + xs.map((x, k) => `${pixel(xa, x)},${pixel(ya, ys[k])}`).join("L"));
  if (trace.line && trace.line.width !== undefined) setStyle(line, "strokeWidth", `${trace.line.width}px`);
  if (trace.opacity !== undefined) setStyle(group, "opacity", trace.opacity);
  const labels = group.querySelectorAll(".textpoint text");
  const texts = Array.isArray(trace.text) ? trace.text : [];
  // Plotly draws a label per point, or only for the points with text: either way, in order.
  const at = labels.length === xs.length ? xs.map((_, k) => k)
    : texts.map((text, k) => (text === "" ? -1 : k)).filter((k) => k >= 0);
  if (labels.length !== at.length) return false;
  labels.forEach((label, j) => {
    const i = at[j], [x0, y0] = before(i);
    const dx = pixel(xa, xs[i]) - x0, dy = pixel(ya, ys[i]) - y0;
    if (dx) label.setAttribute("x", Number(label.getAttribute("x")) + dx);
    if (dy) label.setAttribute("y", Number(label.getAttribute("y")) + dy);
    setText(label, String(texts[i] ?? ""));
  });
  return true;
}

function rgb(colour) {
  // "rgb(r, g, b)" or "#rrggbb", as plotly.py writes colour scale stops.
  const m = String(colour).match(/^rgba?\(([^,]+),([^,]+),([^,)]+)/);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  const hex = String(colour).match(/^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i);
  return hex ? hex.slice(1).map((h) => parseInt(h, 16)) : null;
}

function scaleColour(stops, u) {
  // Linear interpolation between the scale's stops, in RGB, as plotly does.
  let k = 1;
  while (k < stops.length - 1 && stops[k][0] < u) k += 1;
  const [p0, c0] = stops[k - 1], [p1, c1] = stops[k];
  const f = p1 > p0 ? Math.min(Math.max((u - p0) / (p1 - p0), 0), 1) : 0;
  return c0.map((c, i) => Math.round(c + f * (c1[i] - c)));
}

function patchHeatmap(group, trace, old, xa, ya) {
  // A plain heatmap (zmin/zmax given, no smoothing): its image's pixels, one per cell.
  const image = group.querySelector("image");
  const z = numbers(trace.z), shape = String((trace.z || {}).shape || "").split(",").map(Number);
  const stops = (trace.colorscale || []).map(([p, c]) => [Number(p), rgb(c)]);
  if (!image || !z || shape.length !== 2 || trace.zsmooth || stops.some((s) => !s[1])
      || !Number.isFinite(trace.zmin) || !Number.isFinite(trace.zmax)) return false;
  const [rows, cols] = shape;
  const canvas = Object.assign(document.createElement("canvas"), { width: cols, height: rows });
  const context = canvas.getContext("2d");
  const pixels = context.createImageData(cols, rows);
  const down = ya.c2p(0) < ya.c2p(1), right = xa.c2p(0) < xa.c2p(1);  // row 0 on top?
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const u = (z[r * cols + c] - trace.zmin) / (trace.zmax - trace.zmin);
      const at = 4 * ((down ? r : rows - 1 - r) * cols + (right ? c : cols - 1 - c));
      pixels.data.set([...scaleColour(stops, u), 255], at);
    }
  }
  context.putImageData(pixels, 0, 0);
  image.setAttribute("href", canvas.toDataURL());
  image.style.imageRendering = "pixelated";
  return true;
}

function patchLegend(gd, fig) {
  const items = gd.querySelectorAll(".legend .traces");
  const shown = fig.data.filter((trace) => trace.showlegend !== false);
  if (!items.length || fig.layout.showlegend === false) return true;
  if (items.length !== shown.length) return false;
  shown.forEach((trace, k) => {
    const text = items[k].querySelector(".legendtext");
    if (text) setText(text, trace.name);
    const line = items[k].querySelector(".legendlines path");
    if (line && trace.line && trace.line.width !== undefined) setStyle(line, "strokeWidth", `${trace.line.width}px`);
    const layers = items[k].querySelector(".layers");
    if (layers && trace.opacity !== undefined) setStyle(layers, "opacity", trace.opacity);
  });
  return true;
}

function patchTitle(gd, title) {
  // A one- or two-line title (explorer.figures.base.two_line_title): its lines' text.
  const text = title && (title.text ?? title);
  if (typeof text !== "string") return true;
  if (!text) return !gd.querySelector(".gtitle") || !gd.querySelector(".gtitle").textContent;
  const parts = text.split(/<br>/).map((part) => part.replace(/<[^>]+>/g, ""));
  const lines = gd.querySelectorAll(".gtitle .line");
  const drawn = lines.length ? Array.from(lines) : Array.from(gd.querySelectorAll(".gtitle"));
  if (drawn.length !== parts.length) return false;
  drawn.forEach((node, k) => {
    const spans = node.querySelectorAll("tspan");
    setText(spans[spans.length - 1] || node, parts[k]);
  });
  return true;
}

function patchFigure(gd, oldFig, fig, only) {
  // True when `fig` is drawn into gd's SVG; false when a full Plotly.react is needed. The
  // one patcher: a stroke's new figure, and a figure moved with T (component.mjs's atT).
  // `oldFig`: a function that gives the figure drawn, parsed only if a patch needs it.
  // `only`: the indices of the traces that changed (all when not given).
  const seen = {};  // traces met so far per subplot and layer: the DOM keeps trace order
  for (let k = 0; k < fig.data.length; k++) {
    const trace = fig.data[k], old = () => oldFig().data[k];
    const [xa, ya] = axes(gd, trace);
    const layer = { bar: ".barlayer .trace.bars", scatter: ".scatterlayer .trace",
                    heatmap: ".heatmaplayer .hm" }[trace.type];
    if (!xa || !ya || !layer || (trace.mode || "").includes("markers")) return false;
    const where = `${xa._id}${ya._id} ${layer}`;
    const index = (seen[where] = (seen[where] ?? -1) + 1);
    if (only && !only.has(k)) continue;
    const group = gd.querySelectorAll(`.overplot > g.${xa._id}${ya._id} ${layer}`)[index];
    const patch = { bar: patchBars, scatter: patchLine, heatmap: patchHeatmap }[trace.type];
    if (!group || !patch(group, trace, old, xa, ya)) return false;
  }
  return (only || patchLegend(gd, fig)) && patchTitle(gd, fig.layout.title);
}
