/**
 * A latency-distribution plot as SVG, drawn with no library: one line per series, latency (ms,
 * log scale) against percentile, the way HdrHistogram plots read.
 */
export interface Series {
  name: string;
  /** Latencies in ms, sorted ascending. */
  sorted: number[];
}

const COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"];
const W = 860;
const H = 420;
const M = { l: 60, r: 270, t: 36, b: 48 };

/** x: percentile on a "nines" scale (0, 90, 99, 99.9 evenly spaced), y: ms on a log scale. */
export function latencySvg(title: string, series: Series[]): string {
  const maxNines = 3; // up to p99.9
  const x = (p: number) => M.l + (Math.min(maxNines, -Math.log10(Math.max(1e-3, 1 - p / 100))) / maxNines) * (W - M.l - M.r);
  const all = series.flatMap((s) => [s.sorted[0]!, s.sorted[s.sorted.length - 1]!]).filter((v) => v > 0);
  const lo = Math.log10(Math.max(0.01, Math.min(...all)));
  const hi = Math.log10(Math.max(...all));
  const y = (ms: number) => H - M.b - ((Math.log10(Math.max(ms, 1e-3)) - lo) / Math.max(1e-9, hi - lo)) * (H - M.t - M.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.l}" y="20" font-size="14">${escape(title)}</text>`,
  ];
  for (const p of [0, 50, 90, 99, 99.9]) {
    const px = x(p).toFixed(1);
    out.push(`<line x1="${px}" y1="${M.t}" x2="${px}" y2="${H - M.b}" stroke="#ddd"/>`, `<text x="${px}" y="${H - M.b + 16}" text-anchor="middle">p${p}</text>`);
  }
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (Math.log10(v) < lo || Math.log10(v) > hi) continue;
      const py = y(v).toFixed(1);
      out.push(`<line x1="${M.l}" y1="${py}" x2="${W - M.r}" y2="${py}" stroke="#eee"/>`, `<text x="${M.l - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${v}</text>`);
    }
  }
  out.push(`<text x="14" y="${(H / 2).toFixed(0)}" transform="rotate(-90 14 ${(H / 2).toFixed(0)})" text-anchor="middle">latency, ms (log)</text>`);
  out.push(`<text x="${((W - M.r + M.l) / 2).toFixed(0)}" y="${H - 10}" text-anchor="middle">percentile</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const n = s.sorted.length;
    const pts: string[] = [];
    // ~400 points, denser toward the tail.
    for (let k = 0; k <= 400; k++) {
      const p = 100 * (1 - 10 ** (-(k / 400) * maxNines));
      const v = s.sorted[Math.min(n - 1, Math.floor((p / 100) * n))]!;
      pts.push(`${x(p).toFixed(1)},${y(v).toFixed(1)}`);
    }
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(" ")}"/>`);
    const ly = M.t + 14 + i * 18;
    out.push(`<rect x="${W - M.r + 12}" y="${ly - 8}" width="14" height="4" fill="${color}"/>`, `<text x="${W - M.r + 32}" y="${ly - 2}">${escape(s.name)} (n=${n})</text>`);
  });
  out.push("</svg>");
  return out.join("\n");
}

function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
