/**
 * The shared part of the fake provider upstreams (test/helpers/fake-<provider>.ts): an HTTP
 * server on 127.0.0.1:0 that records every request (method, path, headers, raw and parsed
 * body) and hands chat requests to a provider-specific renderer with the current scenario.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: any;
  aborted: boolean;
}

/** What the next answers look like; each fake renders it in its own wire format. */
export interface Scenario {
  /** Non-2xx status with `errorBody` (a string is sent as is, anything else as JSON). */
  status?: number;
  errorBody?: unknown;
  headers?: Record<string, string>;
  reply?: string;
  /** Stream pieces (default: the reply split after spaces). */
  chunks?: string[];
  toolCalls?: { id: string; name: string; arguments: string }[];
  usage?: { prompt: number; completion: number; cached?: number };
  /** The raw finish reason to send (default: the provider's "stop" or "tool call"). */
  finish?: string;
  /** Streams: after this many text chunks, send the provider's in-stream error and stop. */
  errorAfterChunks?: number;
  /** Streams: after this many text chunks, cut the connection. */
  dropAfterChunks?: number;
  /** Streams: after this many text chunks, end the body without the terminal event. */
  truncateAfterChunks?: number;
  chunkDelayMs?: number;
  hang?: boolean;
}

export type Renderer = (rec: Recorded, s: Scenario, res: http.ServerResponse, ctx: RenderContext) => Promise<void> | void;

export interface RenderContext {
  name: string;
  /** Request number among chat requests (1-based). */
  n: number;
  sleep(ms: number): Promise<void>;
  /** Cut the connection (a dropped stream). */
  drop(): void;
  json(status: number, body: unknown, headers?: Record<string, string>): void;
}

export interface Fake {
  readonly name: string;
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  readonly requests: Recorded[];
  chatRequests(): Recorded[];
  behave(s: Scenario | ((rec: Recorded, n: number) => Scenario)): void;
  waitForAbort(): Promise<Recorded>;
  close(): Promise<void>;
}

export interface FakeOptions {
  name: string;
  /** Which requests are chat requests (the rest go to `other`). */
  isChat(rec: Recorded): boolean;
  render: Renderer;
  /** Non-chat routes (model lists, probes); return false for a 404. */
  other(rec: Recorded, ctx: RenderContext): boolean | Promise<boolean>;
  /** Checked before anything else; return a response to send instead (auth failures). */
  gate?(rec: Recorded, ctx: RenderContext): boolean;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Text pieces of a scenario's stream. */
export const piecesOf = (s: Scenario, fallback: string) => s.chunks ?? (s.reply ?? fallback).split(/(?<= )/);

export async function startFake(opts: FakeOptions): Promise<Fake> {
  let scenario: Scenario | ((rec: Recorded, n: number) => Scenario) = {};
  const requests: Recorded[] = [];
  const abortWaiters: ((r: Recorded) => void)[] = [];
  const sockets = new Set<Socket>();
  let chats = 0;

  const server = http.createServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    const raw = Buffer.concat(parts).toString("utf8");
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const rec: Recorded = { method: req.method!, path: req.url!, headers: req.headers, raw, body, aborted: false };
    requests.push(rec);
    res.on("close", () => {
      if (!res.writableFinished) {
        rec.aborted = true;
        for (const w of abortWaiters.splice(0)) w(rec);
      }
    });
    const ctx: RenderContext = {
      name: opts.name,
      n: 0,
      sleep,
      drop: () => req.socket.destroy(),
      json(status, b, headers = {}) {
        res.statusCode = status;
        res.setHeader("content-type", "application/json");
        for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
        res.end(typeof b === "string" ? b : JSON.stringify(b));
      },
    };
    if (opts.gate?.(rec, ctx)) return;
    if (!opts.isChat(rec)) {
      if (!(await opts.other(rec, ctx))) ctx.json(404, { error: `no route ${req.method} ${req.url}` });
      return;
    }
    ctx.n = ++chats;
    const s = typeof scenario === "function" ? scenario(rec, ctx.n) : scenario;
    if (s.hang) return;
    for (const [k, v] of Object.entries(s.headers ?? {})) res.setHeader(k, v);
    if (s.status && s.status !== 200) {
      ctx.json(s.status, s.errorBody ?? { error: `fake ${s.status}` });
      return;
    }
    await opts.render(rec, s, res, ctx);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    name: opts.name,
    origin: `http://127.0.0.1:${port}`,
    requests,
    chatRequests: () => requests.filter((r) => opts.isChat(r)),
    behave(s) {
      scenario = s;
    },
    waitForAbort() {
      const done = requests.find((r) => r.aborted);
      if (done) return Promise.resolve(done);
      return new Promise((resolve) => abortWaiters.push(resolve));
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * Write stream frames one by one, honouring the scenario's error / drop / truncate points.
 * `frame(i)` writes the i-th text piece; `error()` writes the provider's in-stream error.
 * Returns false when the stream was cut short (the caller then writes nothing more).
 */
export async function streamPieces(
  s: Scenario,
  pieces: string[],
  res: http.ServerResponse,
  ctx: RenderContext,
  frame: (piece: string, i: number) => void,
  error: () => void,
): Promise<boolean> {
  for (let i = 0; i < pieces.length; i++) {
    if (s.errorAfterChunks === i) {
      error();
      res.end();
      return false;
    }
    if (s.dropAfterChunks === i) {
      ctx.drop();
      return false;
    }
    if (s.truncateAfterChunks === i) {
      res.end();
      return false;
    }
    if (i > 0 && s.chunkDelayMs) await sleep(s.chunkDelayMs);
    if (res.destroyed) return false;
    frame(pieces[i]!, i);
  }
  return true;
}
