/**
 * Weighted and quality racing end to end, through gRPC and Connect: the answer names the member
 * that won (provider, served_by), GetPoolStats counts race_entries and race_wins (persisted in
 * the ledger file across restarts), and the grace window is respected — shown by what the fake
 * upstreams do (a held answer is waited for, a hanging leg is cancelled), not by timing the
 * gateway.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfigText, validateConfig } from "../src/config/load.js";
import { openaiProvider, user } from "./helpers/server.js";
import { harness } from "./helpers/harness.js";

const { cleanup, fakes, serve } = harness();

const member = (name: string, url: string) => openaiProvider(name, url, { models: { "member-only": "gpt-4o-mini" } });
const race = (name: string, members: string[], racing: Record<string, unknown>) => ({
  name,
  type: "racing",
  members,
  models: ["gpt-4o-mini"],
  strategy_options: { racing: { fanout: members.length, ...racing } },
});
const base = { pool: { default_model: "gpt-4o-mini", retry_backoff_ms: { initial: 0, max: 0 }, warmup: { enabled: false } } };
const raceCounts = async (s: Awaited<ReturnType<typeof serve>>, names: string[]) =>
  Object.fromEntries((await s.grpc.getPoolStats({ providers: names })).providers.map((p) => [p.name, [Number(p.raceEntries), Number(p.raceWins)]]));

describe("racing modes weighted and quality", () => {
  it("the README example loads, and its quality composite answers with the longest complete reply", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const block = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes("mode: weighted"))!;
    const raw = parseConfigText(block, "README") as { providers: Record<string, unknown>[] };
    expect(() => validateConfig(raw, "README", {})).not.toThrow();
    raw.providers[0]!.mock = { latency_ms: 0, reply: "short" };
    raw.providers[1]!.mock = { latency_ms: 30, reply: "a longer, complete answer" };
    const s = await serve(raw);
    const res = await s.connect.chat({ model: "mock-best", messages: [user("hi")] });
    expect(res).toMatchObject({ provider: "pb", servedBy: ["qrace", "pb"], message: { content: "a longer, complete answer" } });
    expect(await raceCounts(s, ["pa", "pb"])).toEqual({ pa: [1, 0], pb: [1, 1] });
  });

  it("quality (gRPC): waits for a held answer inside the window, cancels a hanging one after it; unary and streams", async () => {
    const [quick, thorough] = await fakes("quick", "thorough");
    quick!.behave({ reply: "ok" });
    let release!: () => void;
    thorough!.behave({ reply: "a thorough and complete answer", gate: new Promise<void>((r) => (release = r)) });
    const s = await serve({
      ...base,
      providers: [member("quick", quick!.url), member("thorough", thorough!.url), race("q", ["quick", "thorough"], { mode: "quality", grace_period_ms: 30_000 })],
    });
    const pending = s.grpc.chat({ messages: [user("x")] });
    // Both legs started; quick has answered; the gateway holds the race open for thorough.
    await Promise.all([quick!.waitForRequests(1), thorough!.waitForRequests(1)]);
    release();
    const res = await pending;
    expect(res).toMatchObject({ provider: "thorough", servedBy: ["q", "thorough"], message: { content: "a thorough and complete answer" } });

    const chunks = [];
    for await (const c of s.grpc.streamChat({ messages: [user("x")] })) chunks.push(c);
    expect(chunks.map((c) => c.delta).join("")).toBe("a thorough and complete answer");
    expect(chunks.at(-1)).toMatchObject({ provider: "thorough", servedBy: ["q", "thorough"] });
    expect(await raceCounts(s, ["quick", "thorough"])).toEqual({ quick: [2, 0], thorough: [2, 2] });
  });

  it("quality: after the window closes the answer in hand wins and the leg still running is cancelled", async () => {
    const [quick, stuck] = await fakes("quick", "stuck");
    quick!.behave({ reply: "ok" });
    stuck!.behave({ hang: true });
    const s = await serve({
      ...base,
      providers: [member("quick", quick!.url), member("stuck", stuck!.url), race("q", ["quick", "stuck"], { mode: "quality", grace_period_ms: 20 })],
    });
    const res = await s.connect.chat({ messages: [user("x")] });
    expect(res).toMatchObject({ provider: "quick", servedBy: ["q", "quick"], message: { content: "ok" } });
    expect((await stuck!.waitForAbort()).aborted).toBe(true);
    const stats = await s.grpc.getPoolStats({ providers: ["stuck"] });
    // The cancelled leg is neither a failure nor a latency sample.
    expect([Number(stats.providers[0]!.failures), Number(stats.providers[0]!.successes)]).toEqual([0, 0]);
    expect(Number(stats.providers[0]!.raceEntries)).toBe(1);
  });

  it("weighted (Connect): a member usually slow loses to a steady one that answers later within the window", async () => {
    const [usuallySlow, steady] = await fakes("usually-slow", "steady");
    usuallySlow!.behave({ delayMs: 400 });
    const s = await serve({
      ...base,
      providers: [
        member("usually-slow", usuallySlow!.url),
        member("steady", steady!.url),
        race("w", ["usually-slow", "steady"], { mode: "weighted", grace_period_ms: 5000, speed_weight: 0.5 }),
      ],
    });
    // History: steady wins on speed; usually-slow's answers inside the window are its latency samples.
    for (let i = 0; i < 3; i++) expect((await s.connect.chat({ messages: [user("x")] })).provider).toBe("steady");
    const slowStats = (await s.connect.getPoolStats({ providers: ["usually-slow"] })).providers[0]!;
    expect(Number(slowStats.successes)).toBe(3);
    expect(slowStats.latency!.ewmaMs).toBeGreaterThanOrEqual(400);
    // Now usually-slow answers first, steady 60 ms later: history still decides.
    usuallySlow!.behave({});
    steady!.behave({ delayMs: 60 });
    const res = await s.connect.chat({ messages: [user("x")] });
    expect(res).toMatchObject({ provider: "steady", servedBy: ["w", "steady"] });
    expect(await raceCounts(s, ["usually-slow", "steady"])).toEqual({ "usually-slow": [4, 0], steady: [4, 4] });
  });

  it("race counts survive a restart in the ledger file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "llmpool-races-"));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const [a, b] = await fakes("a", "b");
    b!.behave({ delayMs: 100 });
    const raw = {
      ...base,
      cost: { ledger: { path: join(dir, "ledger.db") } },
      providers: [member("a", a!.url), member("b", b!.url), race("r", ["a", "b"], { mode: "weighted", grace_period_ms: 5000 })],
    };
    const first = await serve(raw);
    for (let i = 0; i < 2; i++) await first.grpc.chat({ messages: [user("x")] });
    expect(await raceCounts(first, ["a", "b"])).toEqual({ a: [2, 2], b: [2, 0] });
    await first.close();
    const second = await serve(raw);
    expect(await raceCounts(second, ["a", "b"])).toEqual({ a: [2, 2], b: [2, 0] });
    await second.grpc.chat({ messages: [user("x")] });
    expect(await raceCounts(second, ["a", "b"])).toEqual({ a: [3, 3], b: [3, 0] });
  });
});
