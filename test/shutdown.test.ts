/**
 * Graceful shutdown: health turns NOT_SERVING, calls and streams in flight finish, nothing
 * new is accepted, and the process exits 0; past the drain timeout what is left is cut.
 * Also the CLI end to end: SIGTERM drains, a config file change reloads.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../gen/grpc/health/v1/health_pb.js";
import { LLMPool } from "../gen/llmpool/v1/llmpool_pb.js";
import { startFakeOpenAI, type FakeUpstream } from "./helpers/fake-openai.js";
import { openaiProvider, startServer, user } from "./helpers/server.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
async function fake(name: string): Promise<FakeUpstream> {
  const f = await startFakeOpenAI(name);
  cleanup.push(() => f.close());
  return f;
}
const text = async (it: AsyncIterable<{ delta: string }>) => {
  let out = "";
  for await (const c of it) out += c.delta;
  return out;
};

describe("graceful shutdown (in process)", () => {
  it("reports NOT_SERVING, lets calls and streams in flight finish, then closes", async () => {
    const up = await fake("up");
    up.behave({ delayMs: 250, chunks: ["one ", "two ", "three"], chunkDelayMs: 50 });
    const s = await startServer({ providers: [openaiProvider("up", up.url)] }, { healthWatchIntervalMs: 10 });
    const health = createClient(Health, createGrpcTransport({ baseUrl: s.url }));
    const watch = health.watch({ service: "" })[Symbol.asyncIterator]();
    expect((await watch.next()).value?.status).toBe(Status.SERVING);

    const unary = s.grpc.chat({ messages: [user("x")] });
    const stream = text(s.grpc.streamChat({ messages: [user("y")] }));
    await up.waitForRequests(2);
    const closed = s.server.close(5000);
    expect(s.server.draining).toBe(true);
    expect((await watch.next()).value?.status).toBe(Status.NOT_SERVING);
    expect((await s.grpc.health({}).catch(() => ({ serving: false }))).serving).toBe(false);

    expect((await unary).message?.content).toBe("Hello from up");
    expect(await stream).toBe("one two three");
    await closed;
    expect(s.server.pool.totals.inFlight).toBe(0);
    // Nothing new is accepted.
    const late = await s.grpc.chat({ messages: [user("late")] }).catch((e) => ConnectError.from(e));
    expect(late).toBeInstanceOf(ConnectError);
    expect((late as ConnectError).code).toBe(Code.Unavailable);
  });

  it("cuts what is still in flight at the drain timeout, aborting the upstream call", async () => {
    const up = await fake("up");
    up.behave({ hang: true });
    const s = await startServer({ providers: [openaiProvider("up", up.url, { timeout_ms: 60_000 })] });
    const call = s.grpc.chat({ messages: [user("x")] }).catch((e) => ConnectError.from(e));
    await up.waitForRequests(1);
    const started = Date.now();
    await s.server.close(200);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await call).toBeInstanceOf(ConnectError);
    await up.waitForAbort();
  });
});

/** Start the CLI on a config file; resolves when it serves, with its port and log lines. */
async function startCli(config: string): Promise<{ child: ChildProcess; port: number; lines: Record<string, any>[]; waitLog(msg: string): Promise<Record<string, any>> }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/_API_KEY$|^LLMPOOL_/.test(k)) env[k] = v;
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "serve", "--config", config, "--port", "0", "--host", "127.0.0.1"], {
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  cleanup.push(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  const lines: Record<string, any>[] = [];
  const waiters: { msg: string; resolve: (l: Record<string, any>) => void }[] = [];
  let port = 0;
  const ready = new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`exited with ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const j = JSON.parse(line);
      lines.push(j);
      for (const w of waiters.filter((w) => w.msg === j.msg)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(j);
      }
      if (j.msg?.startsWith("llmpool serving")) {
        port = Number(String(j.address).split(":").pop());
        resolve();
      }
    });
  });
  await ready;
  return {
    child,
    port,
    lines,
    waitLog: (msg) => {
      const seen = lines.find((l) => l.msg === msg);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ msg, resolve }));
    },
  };
}

describe("the CLI", () => {
  it("on SIGTERM drains calls and streams in flight, then exits 0", async () => {
    const up = await fake("up");
    up.behave({ delayMs: 300, chunks: ["a ", "b ", "c"], chunkDelayMs: 30 });
    const file = join(mkdtempSync(join(tmpdir(), "llmpool-sigterm-")), "llmpool.yaml");
    writeFileSync(file, stringify({ log: { level: "info" }, providers: [openaiProvider("up", up.url)] }));
    const cli = await startCli(file);
    const client = createClient(LLMPool, createGrpcTransport({ baseUrl: `http://127.0.0.1:${cli.port}` }));
    const unary = client.chat({ messages: [user("x")] });
    const stream = text(client.streamChat({ messages: [user("y")] }));
    await up.waitForRequests(2);
    const exited = new Promise<number | null>((r) => cli.child.once("exit", (code) => r(code)));
    cli.child.kill("SIGTERM");
    expect((await unary).provider).toBe("up");
    expect(await stream).toBe("a b c");
    expect(await exited).toBe(0);
    const drain = cli.lines.find((l) => l.msg === "shutting down: draining calls in flight")!;
    expect(drain).toMatchObject({ signal: "SIGTERM", in_flight: 2 });
  }, 30_000);

  it("reloads a changed config file and refuses a broken one", async () => {
    const [a, b] = [await fake("a"), await fake("b")];
    const dir = mkdtempSync(join(tmpdir(), "llmpool-watch-"));
    const file = join(dir, "llmpool.yaml");
    const cfg = (providers: unknown[]) => stringify({ log: { level: "info" }, server: { reload: { debounce_ms: 50 } }, providers });
    writeFileSync(file, cfg([openaiProvider("a", a.url)]));
    const cli = await startCli(file);
    const client = createClient(LLMPool, createGrpcTransport({ baseUrl: `http://127.0.0.1:${cli.port}` }));
    expect((await client.chat({ messages: [user("x")] })).provider).toBe("a");

    // An editor's atomic save: write elsewhere, rename over the file.
    writeFileSync(join(dir, "tmp.yaml"), cfg([openaiProvider("b", b.url)]));
    await import("node:fs").then((fs) => fs.renameSync(join(dir, "tmp.yaml"), file));
    const reloaded = await cli.waitLog("config reloaded");
    expect(reloaded).toMatchObject({ added: ["b"], removed: ["a"] });
    expect((await client.chat({ messages: [user("x")] })).provider).toBe("b");

    writeFileSync(file, "providers: {}\n");
    const refused = await cli.waitLog("new config refused: keeping the config in force");
    expect(refused.error).toMatch(/providers: /);
    expect((await client.chat({ messages: [user("x")] })).provider).toBe("b");
    const stats = await client.getPoolStats({});
    expect(stats.configVersion).toBe(reloaded.version);
    cli.child.kill("SIGTERM");
  }, 30_000);

  it("reloads on SIGHUP when file watching is off", async () => {
    const [a, b] = [await fake("a"), await fake("b")];
    const file = join(mkdtempSync(join(tmpdir(), "llmpool-hup-")), "llmpool.yaml");
    const cfg = (providers: unknown[]) => stringify({ log: { level: "info" }, server: { reload: { watch: false } }, providers });
    writeFileSync(file, cfg([openaiProvider("a", a.url)]));
    const cli = await startCli(file);
    writeFileSync(file, cfg([openaiProvider("a", a.url), openaiProvider("b", b.url)]));
    await new Promise((r) => setTimeout(r, 100));
    expect(cli.lines.some((l) => l.msg === "config reloaded")).toBe(false);
    cli.child.kill("SIGHUP");
    expect(await cli.waitLog("config reloaded")).toMatchObject({ added: ["b"], kept: ["a"] });
    cli.child.kill("SIGTERM");
  }, 30_000);
});
