/**
 * Counters and histograms for the request path, exported through a prom-client Registry.
 *
 * Why not prom-client's own: its inc()/observe() build a hash string from the label object
 * and validate the labels on every call, bound children included (`labels()` hashes again),
 * and a histogram's observe allocates a closure per call. These look a label set up by its
 * values in nested Maps (nothing built per call once the series exists) and lay the series
 * out in prom-client's export shape only when scraped. The text a scrape gets is the same as
 * prom-client's for the same observations (fast-series.test.ts).
 */
import type { Metric, Registry } from "prom-client";

type Labels = Record<string, string>;

/** One series per distinct tuple of label values (at most three labels). */
class SeriesTree<S> {
  private readonly root = new Map<string, unknown>();
  /** Every series with its labels, in creation order (prom-client exports in that order too). */
  readonly series: { labels: Labels; s: S }[] = [];

  constructor(
    private readonly labelNames: readonly string[],
    private readonly make: () => S,
  ) {
    if (labelNames.length < 1 || labelNames.length > 3) throw new Error("1 to 3 labels");
  }

  get(a: string, b: string, c: string): S {
    const depth = this.labelNames.length;
    let level = this.root;
    let key = a;
    if (depth > 1) {
      level = this.child(level, a);
      key = b;
      if (depth > 2) {
        level = this.child(level, b);
        key = c;
      }
    }
    const found = level.get(key) as S | undefined;
    return found ?? this.add(level, key, a, b, c);
  }

  private child(level: Map<string, unknown>, key: string): Map<string, unknown> {
    let next = level.get(key) as Map<string, unknown> | undefined;
    if (!next) level.set(key, (next = new Map()));
    return next;
  }

  private add(level: Map<string, unknown>, key: string, a: string, b: string, c: string): S {
    const s = this.make();
    level.set(key, s);
    const values = [a, b, c];
    const labels: Labels = {};
    this.labelNames.forEach((n, i) => (labels[n] = values[i]!));
    this.series.push({ labels, s });
    return s;
  }

  clear(): void {
    this.root.clear();
    this.series.length = 0;
  }
}

interface Described {
  name: string;
  help: string;
  /** In the order callers pass their values. */
  labelNames: readonly string[];
  registers: Registry[];
}

interface HistogramDescribed extends Described {
  /** Upper bounds, ascending (prom-client's `buckets`). */
  buckets: readonly number[];
}

/** The metric as prom-client's Registry reads it (get/getForPromString, reset), over its series `S`. */
abstract class Exported<S> {
  name: string;
  readonly help: string;
  readonly aggregator = "sum";
  abstract readonly type: "counter" | "histogram";
  protected readonly tree: SeriesTree<S>;

  constructor(d: Described, make: () => S) {
    this.name = d.name;
    this.help = d.help;
    this.tree = new SeriesTree(d.labelNames, make);
    for (const r of d.registers) r.registerMetric(this as unknown as Metric);
  }

  protected abstract values(merge: boolean): object[];

  reset(): void {
    this.tree.clear();
  }

  /** For the text format: histogram rows keep the series' labels apart (`sharedLabels`), as prom-client's do. */
  getForPromString() {
    return this.export(false);
  }

  /** For getMetricsAsJSON: the shape prom-client's own metrics give. */
  get() {
    return this.export(true);
  }

  private export(merge: boolean) {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values(merge) };
  }
}

export class FastCounter extends Exported<{ v: number }> {
  readonly type = "counter";

  constructor(d: Described) {
    super(d, () => ({ v: 0 }));
  }

  /** Add `by` to the series of these label values (in labelNames order). */
  inc(by: number, a: string, b = "", c = ""): void {
    if (!(by >= 0) || by === Infinity) return; // counters only grow; NaN and negatives are dropped
    this.tree.get(a, b, c).v += by;
  }

  protected values(): object[] {
    return this.tree.series.map(({ labels, s }) => ({ labels, value: s.v }));
  }
}

interface Buckets {
  /** Observations per bucket, not cumulative; the last is above every bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class FastHistogram extends Exported<Buckets> {
  readonly type = "histogram";
  private readonly bounds: readonly number[];

  constructor(d: HistogramDescribed) {
    const bounds = d.buckets;
    super(d, () => ({ counts: new Float64Array(bounds.length + 1), sum: 0, count: 0 }));
    this.bounds = bounds;
  }

  /** Observe `value` in the series of these label values (in labelNames order). */
  observe(value: number, a: string, b = "", c = ""): void {
    if (!Number.isFinite(value)) return;
    const h = this.tree.get(a, b, c);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    h.counts[i]!++;
    h.sum += value;
    h.count++;
  }

  protected values(merge: boolean): object[] {
    const name = this.name;
    const out: object[] = [];
    // Buckets carry `exemplar: null` as prom-client's do (exemplars are not kept here).
    const row = (extra: Labels | Record<string, number>, value: number, metricName: string, labels: Labels, exemplar?: null) =>
      merge ? { labels: { ...extra, ...labels }, value, metricName, exemplar } : { labels: extra, sharedLabels: labels, value, metricName, exemplar };
    for (const { labels, s } of this.tree.series) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!;
        out.push(row({ le: this.bounds[i]! }, acc, `${name}_bucket`, labels, null));
      }
      out.push(row({ le: "+Inf" }, s.count, `${name}_bucket`, labels, null));
      out.push(row({}, s.sum, `${name}_sum`, labels));
      out.push(row({}, s.count, `${name}_count`, labels));
    }
    return out;
  }
}
