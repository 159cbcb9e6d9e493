/**
 * Balancing strategies through the gRPC API against fake OpenAI upstreams: what each
 * upstream received, under controlled latency, load and failures.
 */
import { describe, expect, it } from "vitest";
import { type FakeUpstream } from "./helpers/fake-openai.js";
import { seededRandom } from "./helpers/fake-endpoint.js";
import { openaiProvider, startServer, user, type TestServer } from "./helpers/server.js";
import { createLogger } from "../src/util/logger.js";
import { harness } from "./helpers/harness.js";

const { cleanup, fakes } = harness();

async function serve(raw: Record<string, unknown>, random?: () => number, opts: Parameters<typeof startServer>[1] = {}): Promise<TestServer> {
  const s = await startServer(raw, { ...(random ? { random } : {}), ...opts });
  cleanup.push(() => s.close());
  return s;
}
const received = (...ups: FakeUpstream[]) => ups.map((u) => u.chatRequests().length);

async function sequential(s: TestServer, n: number, extra: Record<string, unknown> = {}): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await s.grpc.chat({ messages: [user(`q${i}`)], ...extra })).provider);
  return out;
}

/** Park one request on `provider` (its upstream hangs) and return how to let it go. */
async function park(s: TestServer, up: FakeUpstream, provider: string): Promise<() => Promise<void>> {
  const ac = new AbortController();
  const before = up.chatRequests().length;
  const p = s.grpc.chat({ messages: [user("park")], routing: { provider, onlyProvider: true } }, { signal: ac.signal }).catch(() => undefined);
  await up.waitForRequests(before + 1);
  return async () => {
    ac.abort();
    await p;
  };
}

describe("strategies through the API", () => {
  it("weighted_round_robin: smooth 3:1, exact sequence", async () => {
    const [a, b] = await fakes("a", "b");
    const s = await serve({
      pool: { strategy: "weighted_round_robin" },
      providers: [openaiProvider("a", a!.url, { weight: 3 }), openaiProvider("b", b!.url)],
    });
    expect((await sequential(s, 8)).join(" ")).toBe("a a b a a a b a");
    expect(received(a!, b!)).toEqual([6, 2]);
  });

  it("random: weighted shares within tolerance", async () => {
    const [a, b] = await fakes("a", "b");
    const s = await serve(
      { pool: { strategy: "random" }, providers: [openaiProvider("a", a!.url, { weight: 1 }), openaiProvider("b", b!.url, { weight: 4 })] },
      seededRandom(21),
    );
    await sequential(s, 200);
    const [na, nb] = received(a!, b!);
    expect(na! + nb!).toBe(200);
    expect(Math.abs(na! / 200 - 0.2)).toBeLessThan(0.07);
  });

  it("least_connections and p2c: a busy upstream gets nothing while another is idle", async () => {
    for (const strategy of ["least_connections", "p2c"]) {
      const [busy, idle1, idle2] = await fakes("busy", "idle1", "idle2");
      busy!.behave({ hang: true });
      const s = await serve({
        pool: { strategy },
        providers: [openaiProvider("busy", busy!.url), openaiProvider("idle1", idle1!.url), openaiProvider("idle2", idle2!.url)],
      });
      const release = await park(s, busy!, "busy");
      const release2 = await park(s, busy!, "busy");
      const got = await sequential(s, 12);
      expect(got).not.toContain("busy");
      expect(received(busy!)).toEqual([2]);
      await release();
      await release2();
    }
  });

  it("adaptive: traffic moves to the faster upstream", async () => {
    const [slow, fast] = await fakes("slow", "fast");
    slow!.behave({ delayMs: 150 });
    const s = await serve({ providers: [openaiProvider("slow", slow!.url), openaiProvider("fast", fast!.url)] });
    expect((await s.grpc.getPoolStats({})).strategy).toBe("adaptive");
    await sequential(s, 25);
    const [ns, nf] = received(slow!, fast!);
    expect(ns).toBeGreaterThanOrEqual(1);
    expect(ns).toBeLessThanOrEqual(3);
    expect(nf).toBeGreaterThanOrEqual(22);
  });

  it("adaptive: an upstream that starts failing loses its traffic without failing requests", async () => {
    const [flaky, steady] = await fakes("flaky", "steady");
    steady!.behave({ delayMs: 15 });
    const s = await serve({
      // A long decay: no recovery probe within the few seconds this test runs, however slow the machine.
      pool: { retry_backoff_ms: { initial: 0, max: 0 }, strategy_options: { adaptive: { decay_half_life_ms: 120_000, explore_rate: 0 } } },
      providers: [openaiProvider("flaky", flaky!.url), openaiProvider("steady", steady!.url)],
    });
    await sequential(s, 6);
    flaky!.behave({ status: 503 });
    const before = received(flaky!)[0]!;
    const tried: string[][] = [];
    for (let i = 0; i < 30; i++) {
      const res = await s.grpc.chat({ messages: [user(`q${i}`)] });
      expect(res.provider).toBe("steady");
      tried.push(res.providersTried);
    }
    // A handful of failures (flaky answers ~10x faster, so it takes a few), then none.
    expect(received(flaky!)[0]! - before).toBeLessThanOrEqual(10);
    expect(tried.slice(15).every((t) => t.join() === "steady")).toBe(true);
  });

  it("fastest: the lowest latency, with exploration off", async () => {
    const [slow, fast] = await fakes("slow", "fast");
    slow!.behave({ delayMs: 150 });
    const s = await serve({
      pool: { strategy: "fastest", strategy_options: { fastest: { explore_rate: 0 } } },
      providers: [openaiProvider("slow", slow!.url), openaiProvider("fast", fast!.url)],
    });
    const got = await sequential(s, 12);
    expect(got.slice(2).every((p) => p === "fast")).toBe(true);
    expect(received(slow!)).toEqual([1]);
  });

  it("priority: the lower tier only when the top tier fails or is saturated", async () => {
    const [primary, backup] = await fakes("primary", "backup");
    const s = await serve({
      pool: { strategy: "priority", retry_backoff_ms: { initial: 0, max: 0 } },
      providers: [openaiProvider("backup", backup!.url, { priority: 2 }), openaiProvider("primary", primary!.url, { priority: 1, max_concurrency: 1 })],
    });
    expect(await sequential(s, 4)).toEqual(["primary", "primary", "primary", "primary"]);
    // Failing: the pool falls back to the next tier.
    primary!.behave({ status: 503 });
    const res = await s.grpc.chat({ messages: [user("x")] });
    expect([res.provider, res.providersTried]).toEqual(["backup", ["primary", "backup"]]);
    // Saturated: one call in flight at max_concurrency 1.
    primary!.behave({ hang: true });
    const release = await park(s, primary!, "primary");
    expect(await sequential(s, 2)).toEqual(["backup", "backup"]);
    await release();
  });

  it("cost: the cheapest for this request, also as a per-request override", async () => {
    const [cheap, dear] = await fakes("cheap", "dear");
    const s = await serve({
      pool: { strategy: "round_robin" },
      providers: [
        openaiProvider("dear", dear!.url, { pricing: { input_per_1m: 5, output_per_1m: 15 } }),
        openaiProvider("cheap", cheap!.url, { pricing: { input_per_1m: 0.15, output_per_1m: 0.6 } }),
      ],
    });
    expect(await sequential(s, 4, { routing: { strategy: "cost" } })).toEqual(["cheap", "cheap", "cheap", "cheap"]);
    expect((await sequential(s, 2)).sort()).toEqual(["cheap", "dear"]);
  });

  it("slo: the cheapest whose p95 meets max_p95_ms, else the fastest", async () => {
    const [cheap, dear] = await fakes("cheap", "dear");
    cheap!.behave({ delayMs: 80 });
    const providers = [
      openaiProvider("cheap", cheap!.url, { pricing: { input_per_1m: 0.1, output_per_1m: 0.1 } }),
      openaiProvider("dear", dear!.url, { pricing: { input_per_1m: 3, output_per_1m: 3 } }),
    ];
    const tight = await serve({ pool: { strategy: "slo", strategy_options: { slo: { max_p95_ms: 50, min_samples: 3, explore_rate: 0 } } }, providers });
    const got = await sequential(tight, 12);
    // Learns both (cheapest unproven first), then keeps to the one that meets 50 ms.
    expect(got.slice(0, 3)).toEqual(["cheap", "cheap", "cheap"]);
    expect(got.slice(6)).toEqual(Array(6).fill("dear"));
    const loose = await serve({ pool: { strategy: "slo", strategy_options: { slo: { max_p95_ms: 5000, min_samples: 3, explore_rate: 0 } } }, providers });
    expect(new Set(await sequential(loose, 6))).toEqual(new Set(["cheap"]));
  });

  it("logs each selection with every candidate's score at debug level", async () => {
    const [a, b] = await fakes("a", "b");
    a!.behave({ delayMs: 80 });
    const lines: any[] = [];
    const logger = createLogger("debug", { write: (l: string) => void lines.push(JSON.parse(l)) });
    const s = await serve(
      { pool: { strategy_options: { adaptive: { explore_rate: 0 } } }, providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url)] },
      undefined,
      { logger },
    );
    await sequential(s, 3);
    const sel = lines.filter((l) => l.msg === "selection");
    expect(sel).toHaveLength(3);
    const last = sel[2];
    expect(last).toMatchObject({ strategy: "adaptive", attempt: 1, chosen: "b" });
    expect(last.candidates.map((c: { provider: string }) => c.provider)).toEqual(["a", "b"]);
    expect(last.candidates[0].score).toBeGreaterThan(last.candidates[1].score);
  });
});
