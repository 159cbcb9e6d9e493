/**
 * A fake OpenAI-compatible upstream on 127.0.0.1:0. It speaks chat completions (JSON and SSE
 * with include_usage), records every request it receives (path, headers, body), and can be
 * told to fail, stall, hang or break a stream, per request.
 */
import http from "node:http";
import { fakeVector } from "./fake-embeddings.js";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
  /** Set when the client went away before the response finished. */
  aborted: boolean;
}

export interface Behavior {
  /** HTTP status (default 200). */
  status?: number;
  /** Response body for non-200 (JSON-encoded when an object). */
  errorBody?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Answer only once this settles (a test releases held requests when it is ready). */
  gate?: Promise<unknown>;
  /** Never answer (until the client aborts). */
  hang?: boolean;
  /** Reply text (default "Hello from <name>"). */
  reply?: string;
  finishReason?: string;
  usage?: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens: number } } | null;
  toolCalls?: { id: string; name: string; arguments: string }[];
  /** Streams: the text pieces (default: the reply split in words). */
  chunks?: string[];
  chunkDelayMs?: number;
  /** Streams: after the first chunk, send the rest only once this settles. */
  afterFirstChunk?: Promise<unknown>;
  /** Streams: ignore an assistant prefill and answer from the start (as OpenAI's API does). */
  ignorePrefill?: boolean;
  /** Streams: after this many chunks, send an error event and stop. */
  errorAfterChunks?: number;
  /** Streams: after this many chunks, cut the connection. */
  dropAfterChunks?: number;
  /** Streams: after this many chunks, stop sending (stall) without closing. */
  stallAfterChunks?: number;
  /** Destroy the socket without any response. */
  destroy?: boolean;
  /** Streams: cut the connection right after the tool-call fragments. */
  dropAfterToolCalls?: boolean;
}

export interface FakeUpstream {
  readonly name: string;
  /** Base URL including /v1. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Chat-completion requests only. */
  chatRequests(): RecordedRequest[];
  /** Set the behavior for all following requests (or per request with a function). */
  behave(b: Behavior | ((req: RecordedRequest, n: number) => Behavior)): void;
  /** Resolves when `n` chat requests have arrived. */
  waitForRequests(n: number): Promise<void>;
  /** Resolves when a request was aborted by the client. */
  waitForAbort(): Promise<RecordedRequest>;
  /** Stop listening and cut every connection (the upstream "dies"); `revive` listens again on the same port. */
  kill(): Promise<void>;
  revive(): Promise<void>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startFakeOpenAI(name = "fake", models = ["gpt-4o-mini"]): Promise<FakeUpstream> {
  let behavior: Behavior | ((req: RecordedRequest, n: number) => Behavior) = {};
  const requests: RecordedRequest[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const abortWaiters: ((r: RecordedRequest) => void)[] = [];
  let chatCount = 0;
  const sockets = new Set<import("node:net").Socket>();

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: any = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const rec: RecordedRequest = { method: req.method!, path: req.url!, headers: req.headers, body, aborted: false };
    requests.push(rec);
    res.on("close", () => {
      if (!res.writableFinished) {
        rec.aborted = true;
        for (const w of abortWaiters.splice(0)) w(rec);
      }
    });

    if (req.url!.endsWith("/models") && req.method === "GET") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ object: "list", data: models.map((id) => ({ id, object: "model" })) }));
      return;
    }
    if (req.url!.endsWith("/embeddings") && req.method === "POST") {
      // OpenAI's embeddings shape, float vectors; usage counts one token per 4 characters.
      const inputs: string[] = Array.isArray(body?.input) ? body.input : [body?.input];
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          object: "list",
          model: body?.model,
          data: inputs.map((t, index) => ({ object: "embedding", index, embedding: fakeVector(name, t, body?.dimensions) })),
          usage: { prompt_tokens: inputs.reduce((n, t) => n + Math.ceil(t.length / 4), 0), total_tokens: 0 },
        }),
      );
      return;
    }
    if (!req.url!.endsWith("/chat/completions")) {
      res.statusCode = 404;
      res.end(JSON.stringify({ error: { message: `no route ${req.url}` } }));
      return;
    }
    const n = ++chatCount;
    for (const w of waiters.filter((w) => w.n <= n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    const b = typeof behavior === "function" ? behavior(rec, n) : behavior;
    if (b.destroy) {
      req.socket.destroy();
      return;
    }
    if (b.hang) return; // the client's abort ends it
    if (b.gate) await b.gate;
    if (b.delayMs) await sleep(b.delayMs);
    if (res.destroyed) return;
    for (const [k, v] of Object.entries(b.headers ?? {})) res.setHeader(k, v);
    const status = b.status ?? 200;
    if (status !== 200) {
      res.statusCode = status;
      res.setHeader("content-type", "application/json");
      res.end(typeof b.errorBody === "string" ? b.errorBody : JSON.stringify(b.errorBody ?? { error: { message: `fake ${status}`, type: "server_error" } }));
      return;
    }
    const reply = b.reply ?? `Hello from ${name}`;
    const usage =
      b.usage === null
        ? undefined
        : (b.usage ?? { prompt_tokens: 10, completion_tokens: reply.split(" ").length });
    const finish = b.finishReason ?? (b.toolCalls ? "tool_calls" : "stop");
    const id = `chatcmpl-${name}-${n}`;
    const model = body?.model ?? "unknown";
    if (!body?.stream) {
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created: 1,
          model,
          choices: [
            {
              index: 0,
              message: {
                role: "assistant",
                content: b.toolCalls ? null : reply,
                ...(b.toolCalls
                  ? { tool_calls: b.toolCalls.map((t) => ({ id: t.id, type: "function", function: { name: t.name, arguments: t.arguments } })) }
                  : {}),
              },
              finish_reason: finish,
            },
          ],
          ...(usage ? { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } } : {}),
        }),
      );
      return;
    }
    res.setHeader("content-type", "text/event-stream");
    res.flushHeaders();
    const send = (obj: unknown) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
    let pieces = b.chunks ?? reply.split(/(?<= )/);
    // Like a model given an assistant prefill: continue the answer after what was already said.
    const last = body?.messages?.[body.messages.length - 1];
    if (!b.ignorePrefill && last?.role === "assistant" && typeof last.content === "string" && pieces.join("").startsWith(last.content)) {
      let skip = last.content.length;
      const rest: string[] = [];
      for (const p of pieces) {
        if (skip >= p.length) skip -= p.length;
        else {
          rest.push(p.slice(skip));
          skip = 0;
        }
      }
      pieces = rest;
    }
    const base = { id, object: "chat.completion.chunk", created: 1, model };
    send({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] });
    for (let i = 0; i < pieces.length; i++) {
      if (b.errorAfterChunks === i) {
        send({ error: { message: "upstream exploded mid-stream", type: "server_error" } });
        res.end();
        return;
      }
      if (b.dropAfterChunks === i) {
        await sleep(5); // what was sent reaches the client before the connection dies
        req.socket.destroy();
        return;
      }
      if (b.stallAfterChunks === i) return;
      if (i > 0 && b.chunkDelayMs) await sleep(b.chunkDelayMs);
      if (i === 1 && b.afterFirstChunk) await b.afterFirstChunk;
      if (res.destroyed) return;
      send({ ...base, choices: [{ index: 0, delta: { content: pieces[i] }, finish_reason: null }] });
    }
    if (b.toolCalls) {
      b.toolCalls.forEach((t, index) => {
        send({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, id: t.id, type: "function", function: { name: t.name, arguments: "" } }] }, finish_reason: null }] });
        send({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: t.arguments } }] }, finish_reason: null }] });
      });
      if (b.dropAfterToolCalls) {
        await sleep(5);
        req.socket.destroy();
        return;
      }
    }
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finish }] });
    if (body?.stream_options?.include_usage && usage) {
      send({ ...base, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } });
    }
    res.write("data: [DONE]\n\n");
    res.end();
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    chatRequests: () => requests.filter((r) => r.path.endsWith("/chat/completions")),
    behave(b) {
      behavior = b;
    },
    waitForRequests(n) {
      if (chatCount >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    waitForAbort() {
      const done = requests.find((r) => r.aborted);
      if (done) return Promise.resolve(done);
      return new Promise((resolve) => abortWaiters.push(resolve));
    },
    async kill() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
    async revive() {
      await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    },
    async close() {
      for (const s of sockets) s.destroy();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
