// A live chart's figure at another T, from its row of the panel's table
// (explorer/figures/explorer.py's PANEL): which traces follow softmax(z / T) or σ(z / T), which
// are current-T lines, and the title's templates. Pure: tests/test_live_maths.py runs it
// through node against the figures Python builds at that T.
// Concatenated after maths.mjs and patch.mjs, before component.mjs, by ui/live.py.

const FOLLOW = { softmax, sigmoid };

export function figureAtT(chart, fig, sources, t) {
  // [figure at T, indices of the traces that changed], or null when nothing moves.
  if (!chart || !fig) return null;
  const data = fig.data.slice(), changed = new Set(), ys = {};
  const at = (uid) => data.findIndex((trace) => trace.uid === uid);
  for (const { trace, maths, source } of chart.follows) {
    const k = at(trace), z = sources[source];
    if (k < 0 || !z) continue;  // e.g. no one-vs-rest model: that chart has no bars
    data[k] = { ...data[k], y: (ys[trace] = FOLLOW[maths](z, t)) };
    changed.add(k);
  }
  for (const { trace, label } of chart.markers) {
    const k = at(trace);
    if (k < 0) continue;
    const last = data[k].text.length - 1;  // the label sits on the line's last point
    const text = data[k].text.map((line, i) => (i === last ? fill(label, { t }) : line));
    data[k] = { ...data[k], x: [t, t], text };
    changed.add(k);
  }
  const layout = titleAtT(chart.title, fig.layout, ys, t);
  return changed.size || layout !== fig.layout ? [{ data, layout }, changed] : null;
}

function titleAtT(title, layout, ys, t) {
  // The layout with its title filled in at T; the same layout when the title does not move.
  if (!title || (title.sum_of && !ys[title.sum_of])) return layout;
  const values = { t, sum: title.sum_of ? sum(ys[title.sum_of]) : 0 };
  const text = title.lines.map((line) => fill(line, values)).join("<br>");
  return { ...layout, title: { ...layout.title, text } };
}
