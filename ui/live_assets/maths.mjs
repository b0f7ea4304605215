// Confidence maths and number formatting for scrubbing T in the browser.
// A line-by-line mirror of explorer/maths/confidence.py and explorer/maths/summary.py:
// tests/test_live_maths.py runs both on the same logits and compares them.
// NB: every function takes a (10) array of logits and a temperature, float64 throughout.

export const T_CLIP_MIN = 1e-3;
export const T_CLIP_MAX = 1e3;
const LN2 = Math.log(2);
const NEAR_ONE = 5e-4;
const SMALL = 1e-3;
const TINY = 1e-300;
const OVR_COLUMN = "one-vs-rest σ";

function scaled(logits, temperature) {
  const t = Math.min(Math.max(Number(temperature), T_CLIP_MIN), T_CLIP_MAX);
  return logits.map((z) => Number(z) / t);
}

function argmax(values) {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k] > values[best]) best = k;
  return best;
}

export function logSoftmax(logits, temperature = 1) {
  // NB: log1p of the others' sum after shifting by the max, as in confidence.log_softmax:
  // the top class's log-probability stays below 0 even when 1 − p underflows.
  const z = scaled(logits, temperature);
  const top = argmax(z);
  const shifted = z.map((v) => v - z[top]);
  let others = 0;
  shifted.forEach((v, k) => { if (k !== top) others += Math.exp(v); });
  const norm = Math.log1p(others);
  return shifted.map((v) => v - norm);
}

export function softmax(logits, temperature = 1) {
  return logSoftmax(logits, temperature).map(Math.exp);
}

export function sigmoid(logits, temperature = 1) {
  return scaled(logits, temperature).map((z) => {
    const e = Math.exp(-Math.abs(z)); // never overflows
    return z >= 0 ? 1 / (1 + e) : e / (1 + e);
  });
}

export function entropyBits(logits, temperature = 1) {
  const logp = logSoftmax(logits, temperature);
  let h = 0;
  logp.forEach((lp) => { h -= Math.exp(lp) * lp; });
  return Math.max(h / LN2, 0);
}

export function margin(logits, temperature = 1) {
  const p = [...softmax(logits, temperature)].sort((a, b) => a - b);
  return p[p.length - 1] - p[p.length - 2];
}

export function oneMinusTop(logits, temperature = 1) {
  // 1 − max softmax as the others' sum, so it is never rounded to 0.
  const p = softmax(logits, temperature);
  const top = argmax(p);
  let rest = 0;
  p.forEach((v, k) => { if (k !== top) rest += v; });
  return rest;
}

// --- Python's number formats -------------------------------------------------------------
export function pyExp(value, digits) {
  // Python's f"{v:.{digits}e}": two exponent digits at least ("3.10e-05").
  const [mantissa, exponent] = Number(value).toExponential(digits).split("e");
  const sign = exponent[0] === "-" ? "-" : "+";
  const magnitude = exponent.replace(/^[+-]/, "");
  return `${mantissa}e${sign}${magnitude.padStart(2, "0")}`;
}

export function pyG(value, precision = 3) {
  // Python's f"{v:.{precision}g}": trailing zeros and a bare point stripped.
  const v = Number(value);
  if (v === 0) return "0";
  const exponent = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(precision)))));
  const strip = (text) => (text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text);
  if (exponent < -4 || exponent >= precision) {
    const [mantissa, rest] = pyExp(v, precision - 1).split("e");
    return `${strip(mantissa)}e${rest}`;
  }
  return strip(v.toFixed(Math.max(precision - 1 - exponent, 0)));
}

function smallText(value) {
  return value < TINY ? "< 1e-300" : pyExp(value, 2);
}

function complementText(value, complement) {
  if (complement < TINY) return "> 1 − 1e-300";
  return complement < NEAR_ONE ? `1 − ${smallText(complement)}` : value.toFixed(4);
}

export function formatTop1(logits, temperature = 1) {
  const rest = oneMinusTop(logits, temperature);
  return complementText(1 - rest, rest);
}

export function formatMargin(logits, temperature = 1) {
  const p = [...softmax(logits, temperature)].sort((a, b) => a - b);
  const runnerUp = p[p.length - 2];
  const value = margin(logits, temperature);
  if (value > 0 && value < SMALL) return smallText(value);
  return complementText(value, oneMinusTop(logits, temperature) + runnerUp);
}

export function formatEntropyBits(bits) {
  return bits < SMALL ? `${smallText(bits)} bits` : `${bits.toFixed(3)} bits`;
}

function tableNumber(value, log = false) {
  if (Math.abs(value) < TINY) return log ? "> -1e-300" : "< 1e-300";
  return pyExp(value, 6);
}

export function valuesTable(logits, temperature = 1, ovrLogits = null) {
  // Mirror of summary.values_table: strings, so nothing rounds 0.9999999 to 1. The σ column
  // is the one-vs-rest model's, and only when there is one.
  const probs = softmax(logits, temperature);
  const logProbs = logSoftmax(logits, temperature);
  const sig = ovrLogits ? sigmoid(ovrLogits, temperature) : null;
  const top = argmax(logProbs);
  const complement = probs.map((p) => 1 - p);
  complement[top] = oneMinusTop(logits, temperature);
  return logits.map((z, k) => ({
    class: k, logit: Number(z).toFixed(4), softmax: tableNumber(probs[k]),
    "1 − p": tableNumber(complement[k]), "log-softmax": tableNumber(logProbs[k], true),
    ...(sig ? { [OVR_COLUMN]: tableNumber(sig[k]) } : {}),
  }));
}

export function readouts(logits, temperature = 1) {
  // The Explorer's three numbers at T, as the page writes them.
  return {
    top1: formatTop1(logits, temperature), margin: formatMargin(logits, temperature),
    entropy: formatEntropyBits(entropyBits(logits, temperature)),
  };
}

export function sum(values) {
  return values.reduce((a, b) => a + b, 0);
}

export function fill(template, values) {
  // Python's template.format(**values) for the panel's templates: {name:.Ng}, {name:.Nf},
  // {name} (strings only: a bare number prints unlike Python's); {{ and }} are braces.
  // Mirror of str.format, tested against it.
  return template.replace(/\{\{|\}\}|\{(\w+)(?::\.(\d+)([fg]))?\}/g, (match, name, digits, kind) => {
    if (match === "{{") return "{";
    if (match === "}}") return "}";
    const value = values[name];
    if (kind === "f") return Number(value).toFixed(Number(digits));
    if (kind === "g") return pyG(value, Number(digits));
    return String(value);
  });
}
