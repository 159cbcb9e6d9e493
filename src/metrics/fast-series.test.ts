/**
 * FastCounter and FastHistogram scrape exactly as prom-client's Counter and Histogram do for
 * the same calls: the text format and the JSON form, one, two and three labels, label values
 * that need escaping, values on bucket bounds, and after reset.
 */
import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { FastCounter, FastHistogram } from "./fast-series.js";

const BOUNDS = [0.005, 0.01, 0.1, 1, 10];

function pair() {
  const theirs = new Registry();
  const ours = new Registry();
  const c3 = { name: "t_requests_total", help: "Requests.", labelNames: ["kind", "model", "outcome"] as const };
  const c1 = { name: "t_retries_total", help: "Retries.", labelNames: ["provider"] as const };
  const h2 = { name: "t_duration_seconds", help: "Latency.", labelNames: ["kind", "model"] as const };
  return {
    theirs,
    ours,
    p: { c3: new Counter({ ...c3, registers: [theirs] }), c1: new Counter({ ...c1, registers: [theirs] }), h2: new Histogram({ ...h2, buckets: BOUNDS, registers: [theirs] }) },
    f: { c3: new FastCounter({ ...c3, registers: [ours] }), c1: new FastCounter({ ...c1, registers: [ours] }), h2: new FastHistogram({ ...h2, buckets: BOUNDS, registers: [ours] }) },
  };
}

describe("fast series", () => {
  it("scrape as prom-client's metrics do", async () => {
    const { theirs, ours, p, f } = pair();
    const models = ["gpt-4o", 'a "quoted"\\model\n', "m"];
    let x = 1;
    for (let i = 0; i < 200; i++) {
      x = (x * 48271) % 2147483647; // deterministic spread of values
      const model = models[x % 3]!;
      const kind = x % 2 ? "chat" : "stream";
      const outcome = x % 7 === 0 ? "unavailable" : "ok";
      const by = x % 5;
      p.c3.inc({ kind, model, outcome }, by);
      f.c3.inc(by, kind, model, outcome);
      p.c1.inc({ provider: model });
      f.c1.inc(1, model);
      const v = i % 10 === 0 ? BOUNDS[i % BOUNDS.length]! : (x % 20000) / 1000; // bounds themselves, and beyond the last
      p.h2.observe({ kind, model }, v);
      f.h2.observe(v, kind, model);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    theirs.resetMetrics();
    ours.resetMetrics();
    p.c1.inc({ provider: "after" }, 2);
    f.c1.inc(2, "after");
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it("ignore values a counter or histogram cannot take", async () => {
    const r = new Registry();
    const c = new FastCounter({ name: "c_total", help: "c", labelNames: ["a"], registers: [r] });
    const h = new FastHistogram({ name: "h", help: "h", labelNames: ["a"], buckets: BOUNDS, registers: [r] });
    c.inc(-1, "x");
    c.inc(Number.NaN, "x");
    h.observe(Number.NaN, "x");
    h.observe(Infinity, "x");
    expect(await r.metrics()).not.toMatch(/\{a="x"/);
  });
});
