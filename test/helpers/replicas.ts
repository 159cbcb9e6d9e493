/**
 * Real llmpool processes (`llmpool serve`, through tsx) started from one config file, each on
 * its own port, for scale-out tests: they share state only through what the config names
 * (Redis). Each replica's log lines are kept so tests can look for them.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { LLMPool } from "../../gen/llmpool/v1/llmpool_pb.js";
import { freePort } from "./redis.js";

export interface Replica {
  port: number;
  url: string;
  child: ChildProcess;
  /** JSON log lines so far. */
  logs: Record<string, unknown>[];
  /** The first log line (so far or to come) that `match` accepts. */
  logLine(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** What the process wrote to stderr so far. */
  stderr(): string;
  grpc: Client<typeof LLMPool>;
  connect: Client<typeof LLMPool>;
  alive(): boolean;
  stop(): Promise<void>;
}

/** The environment without provider keys or LLMPOOL_* settings. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/_API_KEY$|^LLMPOOL_|^OLLAMA_|^LMSTUDIO_/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/** `nodeArgs` go before the script (e.g. `--import` of a preload). */
export async function startReplica(config: Record<string, unknown>, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Replica> {
  const dir = mkdtempSync(join(tmpdir(), "llmpool-replica-"));
  const file = join(dir, "llmpool.json");
  writeFileSync(file, JSON.stringify(config));
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", "src/cli.ts", "serve", "--config", file, "--port", String(port), "--host", "127.0.0.1"], {
    env: cleanEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  // "close", not "exit", ends a replica: exit can come before the last stderr bytes are read (callers read stderr()).
  const closed = new Promise<void>((r) =>
    child.once("close", () => {
      rmSync(dir, { recursive: true, force: true });
      r();
    }),
  );
  let stderr = "";
  child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(line);
    } catch {
      return; // not a log line
    }
    logs.push(j);
    for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.match(j)) waiters.splice(i, 1)[0]!.resolve(j);
  });
  const url = `http://127.0.0.1:${port}`;
  // Serving once /healthz answers (whatever the log level says).
  const deadline = Date.now() + 150_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`replica exited (${child.exitCode}): ${stderr}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`replica did not start in 150 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url,
    child,
    logs,
    logLine: (match) => {
      const seen = logs.find(match);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
    stderr: () => stderr,
    grpc: createClient(LLMPool, createGrpcTransport({ baseUrl: url })),
    connect: createClient(LLMPool, createConnectTransport({ baseUrl: url, httpVersion: "1.1" })),
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return closed;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await closed;
      clearTimeout(t);
    },
  };
}
