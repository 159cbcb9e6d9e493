/**
 * Stream-parse benchmark: a 1,000-chunk stream in each provider's wire format through that
 * adapter's parser (SSE / NDJSON / AWS event-stream decoding plus the mapping to neutral
 * events). It times every chunk and compares the first 100 with the last 100: a parser whose
 * per-chunk cost grew with the stream so far (re-scanning a buffer, concatenating the whole
 * text) would show a last/first ratio well above 1.
 *
 *   npx tsx bench/stream-parse.ts [runs=30] [chunks=1000]
 */
import { EventStreamCodec } from "@smithy/core/event-streams";
import { anthropicStream } from "../src/providers/anthropic/response.js";
import { bedrockStream } from "../src/providers/bedrock/response.js";
import { cohereStream } from "../src/providers/cohere/response.js";
import { geminiStream } from "../src/providers/gemini/response.js";
import { ollamaStream } from "../src/providers/ollama/response.js";
import { openaiStream } from "../src/providers/openai/response.js";
import type { StreamEvent } from "../src/core/provider.js";
import { DEFAULT_MAX_STREAM_EVENT_BYTES } from "../src/config/provider-schema.js";

const RUNS = Number(process.argv[2] ?? 30);
/** The per-event cap every adapter parses with (`max_stream_event_bytes`' default). */
const CAP = DEFAULT_MAX_STREAM_EVENT_BYTES;
const N = Number(process.argv[3] ?? 1000);
const word = (i: number) => `tok${i} é🚀 `;

const sse = (event: string | undefined, data: unknown) => Buffer.from(`${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`);
const codec = new EventStreamCodec(
  (b: Uint8Array) => Buffer.from(b).toString("utf8"),
  (s: string) => new Uint8Array(Buffer.from(s, "utf8")),
);
const frame = (event: string, payload: unknown) =>
  Buffer.from(
    codec.encode({
      headers: { ":message-type": { type: "string", value: "event" }, ":event-type": { type: "string", value: event } },
      body: new Uint8Array(Buffer.from(JSON.stringify({ ...(payload as object), p: "abcdefghijklmnop" }))),
    }),
  );

type Parser = (body: AsyncIterable<Buffer>) => AsyncGenerator<StreamEvent>;
interface Case {
  name: string;
  head: Buffer[];
  chunk: (i: number) => Buffer;
  tail: Buffer[];
  parse: Parser;
}

const CASES: Case[] = [
  {
    name: "openai (SSE)",
    head: [],
    chunk: (i) => sse(undefined, { id: "c", model: "m", choices: [{ index: 0, delta: { content: word(i) }, finish_reason: null }] }),
    tail: [sse(undefined, { choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: N } }), Buffer.from("data: [DONE]\n\n")],
    parse: (b) => openaiStream(b, { provider: "bench", maxEventBytes: CAP }),
  },
  {
    name: "anthropic (named SSE)",
    head: [sse("message_start", { type: "message_start", message: { id: "m", model: "c", usage: { input_tokens: 1 } } })],
    chunk: (i) => sse("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: word(i) } }),
    tail: [sse("message_delta", { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: N } }), sse("message_stop", { type: "message_stop" })],
    parse: (b) => anthropicStream(b, { provider: "bench", maxEventBytes: CAP }),
  },
  {
    name: "gemini (SSE)",
    head: [],
    chunk: (i) => sse(undefined, { candidates: [{ content: { role: "model", parts: [{ text: word(i) }] }, index: 0 }], usageMetadata: { promptTokenCount: 1 } }),
    tail: [sse(undefined, { candidates: [{ content: { parts: [{ text: "" }] }, finishReason: "STOP" }], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: N } })],
    parse: (b) => geminiStream(b, { provider: "bench", maxEventBytes: CAP }, "m"),
  },
  {
    name: "cohere (SSE)",
    head: [sse("message-start", { type: "message-start", id: "x" })],
    chunk: (i) => sse("content-delta", { type: "content-delta", index: 0, delta: { message: { content: { text: word(i) } } } }),
    tail: [sse("message-end", { type: "message-end", delta: { finish_reason: "COMPLETE", usage: { billed_units: { input_tokens: 1, output_tokens: N } } } })],
    parse: (b) => cohereStream(b, { provider: "bench", maxEventBytes: CAP }, "m"),
  },
  {
    name: "ollama (NDJSON)",
    head: [],
    chunk: (i) => Buffer.from(JSON.stringify({ model: "m", created_at: "2025-01-01T00:00:00Z", message: { role: "assistant", content: word(i) }, done: false }) + "\n"),
    tail: [Buffer.from(JSON.stringify({ model: "m", message: { role: "assistant", content: "" }, done: true, done_reason: "stop", prompt_eval_count: 1, eval_count: N }) + "\n")],
    parse: (b) => ollamaStream(b, { provider: "bench", maxEventBytes: CAP }, "m"),
  },
  {
    name: "bedrock (event-stream)",
    head: [frame("messageStart", { role: "assistant" })],
    chunk: (i) => frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text: word(i) } }),
    tail: [frame("messageStop", { stopReason: "end_turn" }), frame("metadata", { usage: { inputTokens: 1, outputTokens: N } })],
    parse: (b) => bedrockStream(b, { provider: "bench", id: "r", maxEventBytes: CAP }, "m"),
  },
];

/** Network-like delivery: every wire chunk split in two at an odd offset (mid-frame, mid-UTF-8). */
function* body(c: Case): Generator<Buffer> {
  for (const h of c.head) yield h;
  for (let i = 0; i < N; i++) {
    const b = c.chunk(i);
    const cut = Math.floor(b.length / 2) + 1;
    yield b.subarray(0, cut);
    yield b.subarray(cut);
  }
  for (const t of c.tail) yield t;
}

async function* asAsync(bufs: Buffer[]): AsyncGenerator<Buffer> {
  for (const b of bufs) yield b;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function once(c: Case, bufs: Buffer[]): Promise<{ times: number[]; total: number }> {
  const times: number[] = [];
  let last = performance.now();
  const start = last;
  let deltas = 0;
  for await (const ev of c.parse(asAsync(bufs))) {
    if (!ev.delta) continue;
    const now = performance.now();
    times.push(now - last);
    last = now;
    deltas++;
  }
  if (deltas !== N) throw new Error(`${c.name}: ${deltas} deltas, expected ${N}`);
  return { times, total: performance.now() - start };
}

async function main() {
  console.log(`stream-parse: ${N} chunks per stream, ${RUNS} runs per parser (after 5 warm-up runs), Node ${process.version}`);
  console.log("parser                   | first 100 µs/chunk | last 100 µs/chunk | last/first | whole stream ms");
  console.log("-------------------------|--------------------|-------------------|------------|----------------");
  for (const c of CASES) {
    const bufs = [...body(c)];
    for (let i = 0; i < 5; i++) await once(c, bufs);
    const firsts: number[] = [];
    const lasts: number[] = [];
    const totals: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const { times, total } = await once(c, bufs);
      const avg = (xs: number[]) => (xs.reduce((a, b) => a + b, 0) / xs.length) * 1000;
      firsts.push(avg(times.slice(0, 100)));
      lasts.push(avg(times.slice(-100)));
      totals.push(total);
    }
    const f = median(firsts);
    const l = median(lasts);
    console.log(
      `${c.name.padEnd(24)} | ${f.toFixed(2).padStart(18)} | ${l.toFixed(2).padStart(17)} | ${(l / f).toFixed(2).padStart(10)} | ${median(totals).toFixed(2).padStart(15)}`,
    );
  }
}

await main();
