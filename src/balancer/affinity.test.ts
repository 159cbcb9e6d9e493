import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/llmpool/v1/llmpool_pb.js";
import { counts, fakeContext, fakeView } from "../../test/helpers/fake-endpoint.js";
import { affinityKeyOf, affinityOptions, createAffinityRouter, withAffinity } from "./affinity.js";
import { createCost } from "./cost.js";
import { createRoundRobin } from "./round-robin.js";
import { createPriority, priorityOptions } from "./priority.js";
import { createStrategy } from "./registry.js";

const opts = affinityOptions.parse({ min_prefix_tokens: 10 });
const names = ["a", "b", "c", "d"];

function request(system: string, ...turns: string[]) {
  return create(ChatRequestSchema, {
    model: "m",
    messages: [{ role: "system", content: system }, ...turns.map((t, i) => ({ role: i % 2 ? "assistant" : "user", content: t }))],
  });
}

describe("affinity keys", () => {
  const system = "You are a careful assistant. ".repeat(10);

  it("hashes the system prompt and first turn, not the last message", () => {
    const k1 = affinityKeyOf(request(system, "question one"), undefined, opts)!;
    const k2 = affinityKeyOf(request(system, "question two"), undefined, opts)!;
    expect(k1.key).toBe(k2.key);
    // A later turn of the first conversation keeps the key; another conversation does not.
    const later = affinityKeyOf(request(system, "question one", "answer", "follow-up"), undefined, opts)!;
    const other = affinityKeyOf(request(system, "another start", "answer", "follow-up"), undefined, opts)!;
    expect(later.key).toBe(affinityKeyOf(request(system, "question one", "x", "y"), undefined, opts)!.key);
    expect(other.key).not.toBe(later.key);
    expect(later.cachedTokens).toBeGreaterThan(k1.cachedTokens);
  });

  it("skips short prefixes, honours an explicit key, and can be limited to explicit keys", () => {
    expect(affinityKeyOf(request("short", "hi"), undefined, affinityOptions.parse({}))).toBeUndefined();
    expect(affinityKeyOf(request("short", "hi"), "user-42", affinityOptions.parse({}))!.key).toBe("k:user-42");
    expect(affinityKeyOf(request(system, "hi"), undefined, affinityOptions.parse({ prefix: false, min_prefix_tokens: 1 }))).toBeUndefined();
  });
});

describe("consistent hashing with bounded load", () => {
  it("sends a key to the same endpoint every time, and spreads many keys evenly", () => {
    const r = createAffinityRouter(opts);
    const c = names.map((n) => fakeView(n));
    const home = r.home(c, "conversation-1")!.name;
    for (let i = 0; i < 10; i++) expect(r.home(c, "conversation-1")!.name).toBe(home);
    const spread = counts(names, Array.from({ length: 4000 }, (_, i) => r.home(c, `key-${i}`)!.name));
    for (const n of names) expect(Math.abs(spread[n]! / 4000 - 0.25)).toBeLessThan(0.06);
  });

  it("moves only the keys of an endpoint that leaves", () => {
    const r = createAffinityRouter(opts);
    const c = names.map((n) => fakeView(n));
    const before = Array.from({ length: 2000 }, (_, i) => r.home(c, `key-${i}`)!.name);
    const after = Array.from({ length: 2000 }, (_, i) => r.home(c.slice(0, 3), `key-${i}`)!.name);
    for (let i = 0; i < 2000; i++) if (before[i] !== "d") expect(after[i]).toBe(before[i]);
  });

  it("bounds load: no endpoint takes more than load_factor times its fair share", () => {
    const r = createAffinityRouter(affinityOptions.parse({ load_factor: 1.25 }));
    const c = names.map((n) => fakeView(n));
    // One hot key, 40 concurrent requests: they spill to the next endpoints on the ring.
    for (let i = 0; i < 40; i++) (r.home(c, "hot") as { inFlight: number }).inFlight++;
    for (const v of c) expect(v.inFlight).toBeLessThanOrEqual(Math.ceil((1.25 * 40) / 4));
    expect(c.filter((v) => v.inFlight > 0).length).toBeGreaterThan(1);
  });

  it("weights shares by weight and passes over endpoints with many errors", () => {
    const r = createAffinityRouter(opts);
    const heavy = fakeView("heavy", { weight: 3 });
    const light = fakeView("light");
    const spread = counts(["heavy", "light"], Array.from({ length: 4000 }, (_, i) => r.home([heavy, light], `k${i}`)!.name));
    expect(Math.abs(spread.heavy! / 4000 - 0.75)).toBeLessThan(0.06);
    const keyOnLight = Array.from({ length: 100 }, (_, i) => `k${i}`).find((k) => r.home([heavy, light], k) === light)!;
    light.errorRate = 0.9;
    expect(r.home([heavy, light], keyOnLight)!.name).toBe("heavy");
  });
});

describe("withAffinity", () => {
  it("overrides the strategy for requests with a key and leaves the rest alone", () => {
    const s = withAffinity(createRoundRobin(), opts);
    const c = names.map((n) => fakeView(n));
    const keyed = fakeContext({ affinityKey: "tenant-7" });
    const homes = new Set(Array.from({ length: 8 }, () => s.pick(c, keyed)!.name));
    expect(homes.size).toBe(1);
    const plain = fakeContext();
    expect(Array.from({ length: 4 }, () => s.pick(c, plain)!.name).sort()).toEqual(names);
  });

  it("keeps the home within the tier a priority strategy would use", () => {
    const s = withAffinity(createPriority(priorityOptions.parse({}), (n) => createStrategy(n)), opts);
    const top = [fakeView("t1", { priority: 1 }), fakeView("t2", { priority: 1 })];
    const backup = [fakeView("b1", { priority: 2 }), fakeView("b2", { priority: 2 }), fakeView("b3", { priority: 2 })];
    const homes = new Set<string>();
    for (let i = 0; i < 50; i++) homes.add(s.pick([...backup, ...top], fakeContext({ affinityKey: `key-${i}` }))!.name);
    expect(homes).toEqual(new Set(["t1", "t2"]));
  });

  it("tells price-aware strategies where the prompt is cached instead of forcing it", () => {
    const s = withAffinity(createCost(), opts);
    const cheap = fakeView("cheap", { pricing: { inputPer1m: 0.5, outputPer1m: 1, cachedInputPer1m: 0.5 } });
    const cached = fakeView("cached", { pricing: { inputPer1m: 1, outputPer1m: 1, cachedInputPer1m: 0.1 } });
    const r = createAffinityRouter(opts);
    const homeOf = (req: ReturnType<typeof request>) => r.home([cheap, cached], affinityKeyOf(req, undefined, opts)!.key)!.name;
    const variants = Array.from({ length: 40 }, (_, i) => request(`Long shared instructions, version ${i}. `.repeat(300), "q"));
    const onCached = variants.find((q) => homeOf(q) === "cached")!;
    const onCheap = variants.find((q) => homeOf(q) === "cheap")!;
    const ctx = (req: ReturnType<typeof request>) => fakeContext({ request: req, promptTokens: 3000, maxTokens: 10 });
    // Cached at the dearer endpoint: the discount (0.1 vs 0.5 per 1M) makes it the better deal.
    expect(s.pick([cheap, cached], ctx(onCached))!.name).toBe("cached");
    // Cached at the cheap one: cheap anyway. Without affinity, cost alone picks cheap.
    expect(s.pick([cheap, cached], ctx(onCheap))!.name).toBe("cheap");
    expect(createCost().pick([cheap, cached], ctx(onCached))!.name).toBe("cheap");
    expect(s.scores!([cheap, cached], ctx(onCached))[1]).toBeLessThan(s.scores!([cheap, cached], ctx(onCached))[0]!);
  });
});
