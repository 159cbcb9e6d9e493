/**
 * A lean fake OpenAI-compatible upstream for benchmarks: answers chat completions (JSON or
 * SSE) from pre-built bytes with an optional fixed or random delay; under /hold/ a stream sends
 * its first chunk and stays open. Prints its port.
 *
 *   node --import tsx bench/upstream.ts [--port 0] [--delay-ms 0] [--jitter-ms 0] [--chunks 20]
 *     [--stream-gap-ms 2]
 */
import http from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "delay-ms": { type: "string", default: "0" },
    "jitter-ms": { type: "string", default: "0" },
    chunks: { type: "string", default: "20" },
    /** A stream's first event goes at once, the rest this much later: time to first token is then measurable. */
    "stream-gap-ms": { type: "string", default: "2" },
  },
});
const delay = Number(values["delay-ms"]);
const jitter = Number(values["jitter-ms"]);
const chunks = Number(values.chunks);
const gap = Number(values["stream-gap-ms"]);

const body = Buffer.from(
  JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: 1,
    model: "bench-model",
    choices: [{ index: 0, message: { role: "assistant", content: "The quick brown fox jumps over the lazy dog." }, finish_reason: "stop" }],
    usage: { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 },
  }),
);
const sse = Buffer.from(
  Array.from({ length: chunks }, (_, i) => `data: {"id":"c","model":"bench-model","choices":[{"index":0,"delta":{"content":"w${i} "},"finish_reason":null}]}\n\n`).join("") +
    `data: {"id":"c","model":"bench-model","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n` +
    `data: {"id":"c","model":"bench-model","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":${chunks},"total_tokens":${12 + chunks}}}\n\n` +
    "data: [DONE]\n\n",
);

const firstEvent = sse.indexOf("\n\n") + 2;

const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  let stream = false;
  const parts: Buffer[] = [];
  req.on("data", (c: Buffer) => parts.push(c));
  req.on("end", () => {
    if (req.url?.startsWith("/hold/")) {
      // A stream that stays open after its first chunk (memory per open stream): ends when the client goes.
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(sse.subarray(0, sse.indexOf("\n\n") + 2));
      return;
    }
    const text = Buffer.concat(parts).toString();
    stream = text.includes('"stream":true');
    const answer = () => {
      if (stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        if (gap > 0) {
          res.write(sse.subarray(0, firstEvent));
          setTimeout(() => res.end(sse.subarray(firstEvent)), gap);
        } else res.end(sse);
      } else {
        res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
        res.end(body);
      }
    };
    const wait = delay + (jitter ? Math.random() * jitter : 0);
    if (wait > 0) setTimeout(answer, wait);
    else answer();
  });
});
server.listen(Number(values.port), "127.0.0.1", () => {
  const addr = server.address() as { port: number };
  process.stdout.write(`${addr.port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
