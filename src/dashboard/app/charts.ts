/**
 * Small hand-drawn SVG charts: a multi-line time series, a donut, grouped bars and horizontal
 * bars. No chart library, nothing loaded from elsewhere.
 */
const NS = "http://www.w3.org/2000/svg";

export const PALETTE = ["#3b6fe0", "#1f9d55", "#d98a00", "#d64545", "#7b5cd6", "#0f9bb5", "#c2477f", "#6b8e23", "#8a6d3b", "#5a6b8c"];

type Attrs = Record<string, string | number>;

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function svg(width: number, height: number): SVGSVGElement {
  return el("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "xMidYMid meet", role: "img" });
}

/** A "nice" upper bound for an axis. */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function empty(width: number, height: number, text: string): SVGSVGElement {
  const s = svg(width, height);
  s.append(el("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, text));
  return s;
}

export interface Series {
  name: string;
  color: string;
  values: number[];
}

/** Lines over the last N samples, with a y axis and a legend. */
export function lineChart(series: Series[], opts: { width?: number; height?: number; slots?: number; unit?: string } = {}): SVGSVGElement {
  const W = opts.width ?? 900;
  const H = opts.height ?? 200;
  const slots = opts.slots ?? 60;
  const L = 44, R = 170, T = 10, B = 22;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const s = svg(W, H);
  const x = (i: number) => L + ((W - L - R) * i) / Math.max(1, slots - 1);
  const y = (v: number) => T + (H - T - B) * (1 - v / max);
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    s.append(el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#e3e6ec" }));
    s.append(el("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, v.toFixed(v < 10 && v % 1 ? 1 : 0)));
  }
  s.append(el("text", { x: L, y: H - 6 }, `last ${slots} samples`));
  s.append(el("text", { x: W - R, y: H - 6, "text-anchor": "end" }, "now"));
  series.forEach((ser, idx) => {
    const vals = ser.values;
    const offset = slots - vals.length;
    if (vals.length > 1) {
      const d = vals.map((v, i) => `${i === 0 ? "M" : "L"}${x(offset + i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      s.append(el("path", { d, fill: "none", stroke: ser.color, "stroke-width": 2, "stroke-linejoin": "round" }));
    }
    const ly = T + 14 + idx * 16;
    s.append(el("rect", { x: W - R + 12, y: ly - 9, width: 10, height: 10, fill: ser.color, rx: 2 }));
    const last = vals.length ? vals[vals.length - 1]! : 0;
    s.append(el("text", { x: W - R + 28, y: ly, class: "label" }, `${ser.name} ${last.toFixed(1)}${opts.unit ?? ""}`));
  });
  return s;
}

export interface Slice {
  name: string;
  color: string;
  value: number;
}

/** A donut with a legend of shares. */
export function donut(slices: Slice[], opts: { size?: number } = {}): SVGSVGElement {
  const S = opts.size ?? 160;
  const W = S + 170;
  const total = slices.reduce((a, b) => a + b.value, 0);
  if (total <= 0) return empty(W, S, "no traffic yet");
  const s = svg(W, S);
  const cx = S / 2, cy = S / 2, r = S / 2 - 6, r0 = r * 0.58;
  let a0 = -Math.PI / 2;
  for (const sl of slices) {
    if (sl.value <= 0) continue;
    const frac = sl.value / total;
    if (frac >= 0.9999) {
      s.append(el("circle", { cx, cy, r: (r + r0) / 2, fill: "none", stroke: sl.color, "stroke-width": r - r0 }));
      break;
    }
    const a1 = a0 + frac * 2 * Math.PI;
    const large = a1 - a0 > Math.PI ? 1 : 0;
    const p = (a: number, rr: number) => `${(cx + rr * Math.cos(a)).toFixed(2)},${(cy + rr * Math.sin(a)).toFixed(2)}`;
    const d = `M${p(a0, r)} A${r},${r} 0 ${large} 1 ${p(a1, r)} L${p(a1, r0)} A${r0},${r0} 0 ${large} 0 ${p(a0, r0)} Z`;
    s.append(el("path", { d, fill: sl.color }));
    a0 = a1;
  }
  slices.forEach((sl, i) => {
    const ly = 20 + i * 18;
    s.append(el("rect", { x: S + 14, y: ly - 9, width: 10, height: 10, fill: sl.color, rx: 2 }));
    s.append(el("text", { x: S + 30, y: ly, class: "label" }, `${sl.name} ${((sl.value / total) * 100).toFixed(1)}%`));
  });
  return s;
}

/** Grouped horizontal bars: one row per name, one bar per value (e.g. p50, p95, p99). */
export function groupedBars(rows: { name: string; values: number[] }[], labels: string[], colors: string[]): SVGSVGElement {
  const W = 420;
  const rowH = 14 * labels.length + 10;
  const H = Math.max(40, rows.length * rowH + 26);
  if (rows.length === 0) return empty(W, 60, "no providers");
  const L = 100, R = 60;
  const max = niceMax(Math.max(0, ...rows.flatMap((r) => r.values)));
  const s = svg(W, H);
  rows.forEach((row, i) => {
    const y0 = 6 + i * rowH;
    s.append(el("text", { x: L - 8, y: y0 + (rowH - 10) / 2 + 4, "text-anchor": "end", class: "label" }, row.name));
    row.values.forEach((v, j) => {
      const w = ((W - L - R) * v) / max;
      s.append(el("rect", { x: L, y: y0 + j * 14, width: Math.max(v > 0 ? 1 : 0, w), height: 11, fill: colors[j] ?? "#999", rx: 2 }));
      s.append(el("text", { x: L + w + 4, y: y0 + j * 14 + 9 }, v > 0 ? v.toFixed(0) : "–"));
    });
  });
  labels.forEach((l, j) => {
    s.append(el("rect", { x: L + j * 60, y: H - 14, width: 10, height: 10, fill: colors[j] ?? "#999", rx: 2 }));
    s.append(el("text", { x: L + j * 60 + 14, y: H - 5 }, l));
  });
  return s;
}

/** Horizontal bars with a value label each. */
export function hbars(rows: { name: string; color: string; value: number; label: string }[]): SVGSVGElement {
  const W = 420;
  if (rows.length === 0) return empty(W, 60, "nothing yet");
  const H = rows.length * 22 + 8;
  const L = 100, R = 90;
  const max = niceMax(Math.max(0, ...rows.map((r) => r.value)));
  const s = svg(W, H);
  rows.forEach((row, i) => {
    const y = 6 + i * 22;
    const w = ((W - L - R) * row.value) / max;
    s.append(el("text", { x: L - 8, y: y + 11, "text-anchor": "end", class: "label" }, row.name));
    s.append(el("rect", { x: L, y, width: Math.max(row.value > 0 ? 1 : 0, w), height: 14, fill: row.color, rx: 2 }));
    s.append(el("text", { x: L + w + 4, y: y + 11 }, row.label));
  });
  return s;
}
