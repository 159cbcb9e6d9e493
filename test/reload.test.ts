/**
 * Hot reload through a running server: a watched config file, an invalid new config, and a
 * polled config URL.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ProviderState } from "../gen/llmpool/v1/llmpool_pb.js";
import { createReloader, type ReloadResult, type Reloader } from "../src/config/reload.js";
import { createLogger } from "../src/util/logger.js";
import { createFakeClock } from "../src/util/clock.js";
import { startFakeOpenAI, type FakeUpstream } from "./helpers/fake-openai.js";
import { openaiProvider, startServer, user, type TestServer } from "./helpers/server.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function fakes(...names: string[]): Promise<FakeUpstream[]> {
  const out = await Promise.all(names.map((n) => startFakeOpenAI(n)));
  for (const f of out) cleanup.push(() => f.close());
  return out;
}

/** Log lines written by a server, parsed. */
function captureLogs() {
  const lines: Record<string, any>[] = [];
  const logger = createLogger("info", { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { lines, logger };
}

/** A reloader wired to a test server, and a way to await its next result. */
function reloaderFor(s: TestServer, opts: Partial<Parameters<typeof createReloader>[0]> & Pick<Parameters<typeof createReloader>[0], "source">) {
  const waiting: ((r: ReloadResult) => void)[] = [];
  const r: Reloader = createReloader({
    current: () => s.server.loaded,
    apply: (next) => s.server.reload(next),
    logger: s.server.logger,
    onResult: (res) => {
      for (const w of waiting.splice(0)) w(res);
    },
    ...opts,
  });
  cleanup.push(() => r.stop());
  const next = () => new Promise<ReloadResult>((resolve) => waiting.push(resolve));
  return { reloader: r, next };
}

const dir = () => mkdtempSync(join(tmpdir(), "llmpool-reload-"));

describe("hot reload", () => {
  it("applies a changed config file without dropping requests in flight; unchanged providers keep their state", async () => {
    const [a, b, c] = await fakes("a", "b", "c");
    const file = join(dir(), "llmpool.yaml");
    const config = (providers: unknown[]) => ({ log: { level: "silent" }, server: { reload: { debounce_ms: 20 } }, pool: { strategy: "round_robin" }, providers });
    const first = config([openaiProvider("a", a!.url), openaiProvider("b", b!.url)]);
    writeFileSync(file, stringify(first));
    const { lines, logger } = captureLogs();
    const s = await startServer(first, { logger });
    cleanup.push(() => s.close());
    const { reloader, next } = reloaderFor(s, { source: { kind: "file", path: file } });
    reloader.start();

    for (let i = 0; i < 4; i++) await s.grpc.chat({ messages: [user("x")] });
    a!.behave({ status: 429, headers: { "retry-after-ms": "60000" } }); // a cools down for a minute: state that must survive
    await s.grpc.chat({ messages: [user("x")] });
    const before = await s.grpc.getPoolStats({});
    const aBefore = before.providers.find((p) => p.name === "a")!;
    expect(aBefore.state).toBe(ProviderState.COOLING_DOWN);

    b!.behave({ delayMs: 300 });
    const inFlight = s.grpc.chat({ messages: [user("slow")] });
    await b!.waitForRequests(4);

    // b changes (a new timeout), c is added, a is untouched.
    writeFileSync(file, stringify(config([openaiProvider("a", a!.url), openaiProvider("b", b!.url, { timeout_ms: 20_000 }), openaiProvider("c", c!.url)])));
    const result = await next();
    expect(result).toMatchObject({ status: "reloaded", added: ["c"], removed: [], changed: ["b"], kept: ["a"] });

    expect((await inFlight).provider).toBe("b"); // finished on the endpoint it started on
    const after = await s.grpc.getPoolStats({});
    expect(after.configVersion).not.toBe(before.configVersion);
    const aAfter = after.providers.find((p) => p.name === "a")!;
    expect(aAfter.requests).toBe(aBefore.requests);
    expect(aAfter.state).toBe(ProviderState.COOLING_DOWN);
    expect(after.providers.find((p) => p.name === "b")!.requests).toBe(0n);
    expect(after.providers.map((p) => p.name)).toEqual(["a", "b", "c"]);
    const served = new Set<string>();
    for (let i = 0; i < 4; i++) served.add((await s.grpc.chat({ messages: [user("x")] })).provider);
    expect([...served].sort()).toEqual(["b", "c"]);
    const logged = lines.find((l) => l.msg === "config reloaded" && l.version === after.configVersion)!;
    expect(logged).toMatchObject({ added: ["c"], removed: [], changed: ["b"], kept: ["a"] });
  });
});

describe("a config that cannot be applied", () => {
  it("is refused with its problems logged, and the old config keeps serving", async () => {
    const [a] = await fakes("a");
    const file = join(dir(), "llmpool.yaml");
    const good = { log: { level: "silent" }, providers: [openaiProvider("a", a!.url)] };
    writeFileSync(file, stringify(good));
    const { lines, logger } = captureLogs();
    const s = await startServer(good, { logger });
    cleanup.push(() => s.close());
    const { reloader } = reloaderFor(s, { source: { kind: "file", path: file } });
    const version = (await s.grpc.getPoolStats({})).configVersion;

    writeFileSync(file, "providers:\n  - name: a\n    type: openai\n    base_url: ftp://nope\n    models: [gpt-4o-mini]\n    wieght: 2\n");
    const r = await reloader.check();
    expect(r.status).toBe("invalid");
    const logged = lines.find((l) => l.msg === "new config refused: keeping the config in force")!;
    expect(logged.level).toBe("error");
    expect(logged.error).toContain("providers[0].base_url: scheme ftp:// not supported");
    expect(logged.error).toContain("providers[0].wieght: unknown key");
    expect((await s.grpc.getPoolStats({})).configVersion).toBe(version);
    expect((await s.grpc.chat({ messages: [user("still here?")] })).provider).toBe("a");
    // The same broken text is not re-parsed (or re-logged) on every check.
    expect(await reloader.check()).toEqual({ status: "unchanged" });
    // A missing file (mid-save) is refused the same way.
    writeFileSync(file, "{ not yaml: [");
    expect((await reloader.check()).status).toBe("invalid");
    expect((await s.grpc.getPoolStats({})).configVersion).toBe(version);
  });
});

describe("config_url", () => {
  it("is polled every poll_interval_s and applied when its checksum changes", async () => {
    const [a, b] = await fakes("a", "b");
    // The served document is the whole config the test server runs (its ledger in memory).
    const doc = (providers: unknown[]) =>
      stringify({ log: { level: "silent" }, server: { reload: { poll_interval_s: 30 } }, cost: { ledger: { path: ":memory:" } }, providers });
    let body = doc([openaiProvider("a", a!.url)]);
    let fetches = 0;
    const cfgServer = http.createServer((_req, res) => {
      fetches++;
      res.setHeader("content-type", "application/yaml");
      res.end(body);
    });
    await new Promise<void>((r) => cfgServer.listen(0, "127.0.0.1", r));
    cleanup.push(() => new Promise<void>((r) => cfgServer.close(() => r())));
    const url = `http://user:secret@127.0.0.1:${(cfgServer.address() as AddressInfo).port}/llmpool.yaml?token=abc`;

    const { parseConfigText } = await import("../src/config/load.js");
    const s = await startServer(parseConfigText(body, "t") as Record<string, unknown>);
    cleanup.push(() => s.close());
    const clock = createFakeClock();
    const { reloader, next } = reloaderFor(s, { source: { kind: "url", url }, clock });
    reloader.start();
    clock.advance(30_000);
    expect(await next()).toEqual({ status: "unchanged" });
    expect(fetches).toBe(1);

    body = doc([openaiProvider("a", a!.url), openaiProvider("b", b!.url)]);
    clock.advance(29_999);
    expect(fetches).toBe(1);
    clock.advance(1);
    const r = await next();
    expect(r).toMatchObject({ status: "reloaded", added: ["b"], kept: ["a"] });
    expect((await s.grpc.getPoolStats({})).providers.map((p) => p.name)).toEqual(["a", "b"]);

    body = "providers: []";
    clock.advance(30_000);
    const bad = await next();
    expect(bad.status).toBe("invalid");
    expect((bad as { error: string }).error).toMatch(/^invalid config http:\/\/127\.0\.0\.1:\d+\/llmpool\.yaml:\n  providers: at least one provider is required/);
    expect((bad as { error: string }).error).not.toContain("secret");
    expect((await s.grpc.getPoolStats({})).providers).toHaveLength(2);
  });
});
