/**
 * Fault injection through the gRPC API against fake upstreams: each test breaks upstreams in
 * one way and asserts what callers saw.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { describe, expect, it } from "vitest";
import { ProviderState } from "../gen/llmpool/v1/llmpool_pb.js";
import { openaiProvider, user, type TestServer } from "./helpers/server.js";
import { harness, failure as error } from "./helpers/harness.js";

const { cleanup, fakes, serve } = harness();

/** Run `n` calls, `concurrency` at a time; resolves with every outcome. */
async function load<T>(n: number, concurrency: number, call: (i: number) => Promise<T>): Promise<PromiseSettledResult<T>[]> {
  const out: PromiseSettledResult<T>[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await call(i).then(
          (value) => ({ status: "fulfilled", value }) as const,
          (reason) => ({ status: "rejected", reason }) as const,
        );
      }
    }),
  );
  return out;
}
const failures = (rs: PromiseSettledResult<unknown>[]) => rs.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason));
async function stateOf(s: TestServer, name: string) {
  return (await s.grpc.getPoolStats({ providers: [name] })).providers[0]!;
}
/** Poll until `check` passes (events we cannot await directly: a breaker's reset timer). */
async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("upstream failures callers never see", () => {
  it("one of three upstreams dies mid-load: no unary call fails", async () => {
    const ups = await fakes("a", "b", "c");
    for (const u of ups) u.behave({ delayMs: 15 });
    const s = await serve({ pool: { strategy: "round_robin" }, providers: ups.map((u) => openaiProvider(u.name, u.url)) });
    let done = 0;
    let killed: Promise<void> | undefined;
    const results = await load(150, 12, async () => {
      const res = await s.grpc.chat({ messages: [user("x")] });
      if (++done === 30) killed = ups[1]!.kill();
      return res;
    });
    await killed;
    expect(failures(results)).toEqual([]);
    const after = results.slice(60).map((r) => (r as PromiseFulfilledResult<{ provider: string }>).value.provider);
    expect(after).not.toContain("b");
    const b = await stateOf(s, "b");
    expect([ProviderState.BREAKER_OPEN, ProviderState.EJECTED]).toContain(b.state);
    expect(b.healthy).toBe(false);
    expect(b.lastError).toMatch(/^connect: /);
  });

  it("one upstream fails 30% of the time: no call fails", async () => {
    const ups = await fakes("a", "b", "c");
    ups[0]!.behave((_req, n) => (n % 10 < 3 ? { status: 500, errorBody: { error: { message: "flaky", type: "server_error" } } } : {}));
    const s = await serve({ pool: { strategy: "round_robin" }, providers: ups.map((u) => openaiProvider(u.name, u.url)) });
    const results = await load(120, 6, () => s.grpc.chat({ messages: [user("x")] }));
    expect(failures(results)).toEqual([]);
    expect(ups[0]!.chatRequests().length).toBeGreaterThan(30);
    const stats = await s.grpc.getPoolStats({});
    expect(Number(stats.totals!.retries + stats.totals!.fallbacks)).toBeGreaterThan(5);
  });

  it("all upstreams die: calls fail fast with UNAVAILABLE naming each provider's last error", async () => {
    const ups = await fakes("a", "b", "c");
    const s = await serve({ providers: ups.map((u) => openaiProvider(u.name, u.url)) });
    await s.grpc.chat({ messages: [user("warm")] });
    await Promise.all(ups.map((u) => u.kill()));
    for (let i = 0; i < 4; i++) {
      const started = Date.now();
      const err = await error(s.grpc.chat({ messages: [user("x")] }, { timeoutMs: 10_000 }));
      expect(Date.now() - started).toBeLessThan(1500);
      expect(err.code).toBe(Code.Unavailable);
      for (const name of ["a", "b", "c"]) expect(err.rawMessage).toMatch(new RegExp(`${name}: .*connect: ECONNREFUSED`));
    }
    // By now the breakers are open: the answer comes without calling anyone, and still says why.
    const err = await error(s.grpc.chat({ messages: [user("x")] }));
    expect(err.rawMessage).toMatch(/^no healthy provider for model "gpt-4o-mini": a: circuit breaker open, half-open in \d+ ms; last error: connect: ECONNREFUSED/);
    const health = await s.grpc.health({});
    expect(health.serving).toBe(false);
  });
});

describe("health follows min_healthy", () => {
  it("Health, grpc.health and /readyz say NOT_SERVING once fewer than min_healthy providers are in rotation", async () => {
    const [a, b] = await fakes("a", "b");
    const s = await serve({
      pool: { min_healthy: 2, strategy: "round_robin" },
      providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url, { circuit_breaker: { failure_threshold: 1, reset_timeout_ms: 60_000 } })],
    });
    const readyz = async () => (await fetch(`${s.url}/readyz`)).status;
    expect((await s.grpc.health({})).serving).toBe(true);
    expect(await readyz()).toBe(200);
    b!.behave({ status: 500 });
    for (let i = 0; i < 2; i++) await s.grpc.chat({ messages: [user("x")] });
    const h = await s.grpc.health({});
    expect(h).toMatchObject({ serving: false, status: "NOT_SERVING", healthyProviders: 1, totalProviders: 2, minHealthy: 2 });
    expect(h.providers.find((p) => p.name === "b")).toMatchObject({ healthy: false, state: ProviderState.BREAKER_OPEN });
    // GetPoolStats keeps the change with its time and reason (issue 14: state-change history).
    const bStats = (await s.grpc.getPoolStats({ providers: ["b"] })).providers[0]!;
    const change = bStats.stateChanges.at(-1)!;
    expect(change).toMatchObject({ fromState: ProviderState.HEALTHY, toState: ProviderState.BREAKER_OPEN });
    expect(change.reason).toMatch(/breaker/i);
    expect(Math.abs(change.atUnixMs - Date.now())).toBeLessThan(60_000);
    expect(await readyz()).toBe(503);
    const grpcHealth = createClient(Health, createGrpcTransport({ baseUrl: s.url }));
    expect((await grpcHealth.check({})).status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
  });
});

describe("active health checks and warmup", () => {
  it("take an unreachable provider out of rotation before any request tries it", async () => {
    const [live, dead] = await fakes("live", "dead");
    await dead!.kill();
    const s = await serve({
      pool: { strategy: "round_robin", health_check: { unhealthy_threshold: 1 } },
      providers: [openaiProvider("live", live!.url), openaiProvider("dead", dead!.url)],
    });
    await eventually(async () => (await stateOf(s, "dead")).state === ProviderState.UNHEALTHY);
    for (let i = 0; i < 4; i++) expect((await s.grpc.chat({ messages: [user("x")] })).attempts).toBe(1);
    const dst = await stateOf(s, "dead");
    expect(dst.requests).toBe(0n);
    expect(dst.lastError).toMatch(/^health check: connect: ECONNREFUSED/);
  });

  it("warmup opens each provider's connection at start (and not with warmup off)", async () => {
    const [a] = await fakes("a");
    const noProbe = { health_check: { enabled: false } };
    const s1 = await serve({ providers: [openaiProvider("a", a!.url, noProbe)] });
    expect(a!.requests.filter((r) => r.path === "/v1/models")).toHaveLength(1);
    await s1.close();
    const s2 = await serve({ pool: { warmup: { enabled: false } }, providers: [openaiProvider("a", a!.url, noProbe)] });
    await s2.grpc.chat({ messages: [user("x")] });
    expect(a!.requests.filter((r) => r.path === "/v1/models")).toHaveLength(1);
  });
});

describe("rate limits and cool-downs", () => {
  it("a 429 with retry-after cools that provider down and traffic moves", async () => {
    const [a, b] = await fakes("a", "b");
    a!.behave({ status: 429, headers: { "retry-after-ms": "400" }, errorBody: { error: { message: "Rate limit reached", type: "requests" } } });
    const s = await serve({ pool: { strategy: "round_robin" }, providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url)] });
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await s.grpc.chat({ messages: [user("x")] }));
    expect(results.map((r) => r.provider)).toEqual(["b", "b", "b", "b", "b", "b"]);
    expect(a!.chatRequests()).toHaveLength(1);
    const st = await stateOf(s, "a");
    expect(st.state).toBe(ProviderState.COOLING_DOWN);
    expect(st.rateLimit!.cooldownRemainingMs).toBeGreaterThan(0);
    expect(st.rateLimit!.rejections).toBeGreaterThan(0n);
    a!.behave({});
    await eventually(async () => (await stateOf(s, "a")).state !== ProviderState.COOLING_DOWN);
    const back = [];
    for (let i = 0; i < 4; i++) back.push((await s.grpc.chat({ messages: [user("x")] })).provider);
    expect(back).toContain("a");
  });

  it("when every provider is cooling down, a request waits for the earliest cool-down if its deadline allows", async () => {
    const [a, b] = await fakes("a", "b");
    const limited = (ms: string) => (_r: unknown, n: number) => (n === 1 ? { status: 429, headers: { "retry-after-ms": ms } } : {});
    a!.behave(limited("600"));
    b!.behave(limited("250"));
    const s = await serve({ providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url)] });
    const started = Date.now();
    const res = await s.grpc.chat({ messages: [user("x")] }, { timeoutMs: 5000 });
    expect(res.provider).toBe("b");
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    // A deadline the cool-downs cannot fit: refused at once with the retry delay.
    await eventually(async () => (await stateOf(s, "a")).state !== ProviderState.COOLING_DOWN);
    a!.behave({ status: 429, headers: { "retry-after-ms": "2000" } });
    b!.behave({ status: 429, headers: { "retry-after-ms": "2000" } });
    const t0 = Date.now();
    const err = await error(s.grpc.chat({ messages: [user("x")] }, { timeoutMs: 300 }));
    expect(Date.now() - t0).toBeLessThan(250);
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/^every provider of model "gpt-4o-mini" is at a limit for longer than the request can wait \(retry in \d+ ms\): a: cooling down for \d+ ms \(upstream 429\); b: cooling down/);
    expect(Number(err.metadata.get("retry-after-ms"))).toBeGreaterThan(1000);
  });

  it("rpm: a provider at its limit is passed over, and when all are, the caller gets RESOURCE_EXHAUSTED with a delay", async () => {
    const [a, b] = await fakes("a", "b");
    const s = await serve({
      pool: { strategy: "round_robin", queue: { timeout_ms: 0 } },
      providers: [openaiProvider("a", a!.url, { rpm: 2 }), openaiProvider("b", b!.url, { rpm: 1 })],
    });
    const got = [];
    for (let i = 0; i < 3; i++) got.push((await s.grpc.chat({ messages: [user("x")] })).provider);
    expect(got.sort()).toEqual(["a", "a", "b"]);
    const err = await error(s.grpc.chat({ messages: [user("x")] }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/^every provider of model "gpt-4o-mini" is at a limit \(and pool.queue is off\): a: rpm 2 reached; b: rpm 1 reached$/);
    expect(Number(err.metadata.get("retry-after-ms"))).toBeGreaterThan(50_000);
    const st = await stateOf(s, "a");
    expect(st.rateLimit).toMatchObject({ rpmLimit: 2, rpmRemaining: 0 });
  });
});

describe("breakers and recovery", () => {
  it("recovery brings traffic back after the breaker's reset", async () => {
    const [a, b] = await fakes("a", "b");
    a!.behave({ status: 503, errorBody: { error: { message: "down for maintenance" } } });
    const s = await serve({
      pool: { strategy: "round_robin", outlier_detection: { enabled: false } },
      providers: [openaiProvider("a", a!.url, { circuit_breaker: { failure_threshold: 2, reset_timeout_ms: 300 } }), openaiProvider("b", b!.url)],
    });
    for (let i = 0; i < 6; i++) expect((await s.grpc.chat({ messages: [user("x")] })).provider).toBe("b");
    expect((await stateOf(s, "a")).state).toBe(ProviderState.BREAKER_OPEN);
    expect(a!.chatRequests()).toHaveLength(2);
    a!.behave({});
    await eventually(async () => (await stateOf(s, "a")).state === ProviderState.BREAKER_HALF_OPEN);
    const after = [];
    for (let i = 0; i < 6; i++) after.push((await s.grpc.chat({ messages: [user("x")] })).provider);
    expect(after.filter((p) => p === "a").length).toBeGreaterThanOrEqual(2);
    expect((await stateOf(s, "a")).state).toBe(ProviderState.HEALTHY);
  });

  it("a passing health probe is the half-open trial: the breaker closes with no request", async () => {
    const [a, b] = await fakes("a", "b");
    a!.behave({ status: 503, errorBody: { error: { message: "down for maintenance" } } });
    const s = await serve({
      pool: { strategy: "round_robin", outlier_detection: { enabled: false } },
      providers: [openaiProvider("a", a!.url, { circuit_breaker: { failure_threshold: 2, reset_timeout_ms: 300 } }), openaiProvider("b", b!.url)],
    });
    for (let i = 0; i < 4; i++) await s.grpc.chat({ messages: [user("x")] });
    expect((await stateOf(s, "a")).state).toBe(ProviderState.BREAKER_OPEN);
    a!.behave({});
    await eventually(async () => (await stateOf(s, "a")).state === ProviderState.BREAKER_HALF_OPEN);
    const chats = a!.chatRequests().length;
    await s.server.pool.resilience.monitor.checkNow(); // GET /models passes
    const st = await stateOf(s, "a");
    // Closed: back in rotation (DEGRADED only for its recent error rate, not the breaker).
    expect([ProviderState.HEALTHY, ProviderState.DEGRADED]).toContain(st.state);
    expect(st.healthy).toBe(true);
    expect(a!.chatRequests()).toHaveLength(chats); // no chat request was needed
  });
});

describe("deadlines and cancellation", () => {
  it("a 200 ms deadline against a hung upstream: DEADLINE_EXCEEDED in about 200 ms and the upstream sees the abort", async () => {
    const [hung] = await fakes("hung");
    hung!.behave({ hang: true });
    const s = await serve({ providers: [openaiProvider("hung", hung!.url)] });
    for (const call of [
      () => s.grpc.chat({ messages: [user("x")] }, { timeoutMs: 200 }),
      async () => {
        for await (const _ of s.grpc.streamChat({ messages: [user("x")] }, { timeoutMs: 200 }));
      },
    ]) {
      const started = Date.now();
      const err = await error(call());
      expect(err.code).toBe(Code.DeadlineExceeded);
      expect(Date.now() - started).toBeLessThan(1000);
    }
    expect(hung!.chatRequests()).toHaveLength(2);
    await eventually(() => hung!.chatRequests().every((r) => r.aborted));
  });
});

describe("queueing", () => {
  it("a flood beyond the queue gets RESOURCE_EXHAUSTED at once; the queued calls are served", async () => {
    const [up] = await fakes("up");
    let release!: () => void;
    up!.behave({ gate: new Promise<void>((r) => (release = r)) });
    const s = await serve({ pool: { queue: { max_size: 5, timeout_ms: 5000 } }, providers: [openaiProvider("up", up!.url, { max_concurrency: 2 })] });
    let refusedSoFar = 0;
    const calls = Array.from({ length: 30 }, () =>
      s.grpc.chat({ messages: [user("x")] }).then(
        () => "ok",
        (e) => {
          refusedSoFar++;
          return ConnectError.from(e);
        },
      ),
    );
    await up!.waitForRequests(2);
    await eventually(() => refusedSoFar === 23); // refused at once, while the upstream still holds the first two
    const during = await s.grpc.getPoolStats({});
    expect(during.totals!.queueDepth).toBe(5);
    expect(during.totals!.inFlight).toBe(7);
    release();
    const results = await Promise.all(calls);
    const refused = results.filter((r): r is ConnectError => r !== "ok");
    expect(results.filter((r) => r === "ok")).toHaveLength(7);
    expect(refused).toHaveLength(23);
    for (const e of refused) {
      expect(e.code).toBe(Code.ResourceExhausted);
      expect(e.rawMessage).toMatch(/^queue full: 5 request\(s\) already wait for a provider \(pool.queue.max_size\)/);
      expect(Number(e.metadata.get("retry-after-ms"))).toBeGreaterThan(0);
    }
    expect(up!.chatRequests()).toHaveLength(7);
    const after = await s.grpc.getPoolStats({});
    expect(after.totals!.queueDepth).toBe(0);
    expect(after.totals!.inFlight).toBe(0);
    expect(after.providers[0]!.inFlight).toBe(0);
  });

  it("serves the queue by metadata.priority, then age", async () => {
    const [up] = await fakes("up");
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    up!.behave((_r, n) => (n === 1 ? { gate } : {}));
    const s = await serve({ providers: [openaiProvider("up", up!.url, { max_concurrency: 1 })] });
    const first = s.grpc.chat({ messages: [user("first")] });
    await up!.waitForRequests(1);
    const queued = [];
    for (const [label, priority] of [["p0-old", "0"], ["p5", "5"], ["p0-new", "0"], ["p9", "9"], ["p-1", "-1"]] as const) {
      queued.push(s.grpc.chat({ messages: [user(label)], metadata: { priority } }));
      const depth = queued.length;
      await eventually(() => s.server.pool.queueDepth === depth); // queued in this order
    }
    release();
    await Promise.all([first, ...queued]);
    expect(up!.chatRequests().map((r) => r.body.messages[0].content)).toEqual(["first", "p9", "p5", "p0-old", "p0-new", "p-1"]);
    const err = await error(s.grpc.chat({ messages: [user("x")], metadata: { priority: "high" } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe('metadata.priority: must be an integer (got "high")');
  });

  it("gives up after queue.timeout_ms with RESOURCE_EXHAUSTED", async () => {
    const [up] = await fakes("up");
    up!.behave({ hang: true });
    const s = await serve({ pool: { queue: { timeout_ms: 150 } }, providers: [openaiProvider("up", up!.url, { max_concurrency: 1, timeout_ms: 2000 })] });
    const stop = new AbortController();
    const blocker = s.grpc.chat({ messages: [user("x")] }, { signal: stop.signal }).catch(() => undefined);
    await up!.waitForRequests(1);
    const started = Date.now();
    const err = await error(s.grpc.chat({ messages: [user("y")] }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/^waited 1\d\d ms for a provider of model "gpt-4o-mini" \(pool.queue.timeout_ms\): up: max_concurrency 1 reached/);
    stop.abort();
    await blocker;
    await up!.waitForAbort();
  });
});
