/**
 * The floor for any Node gateway on this machine: a proxy with nothing but node:http (or
 * node:http2 for gRPC) and one undici Pool to the upstream. It reads the request body, sends it
 * to the upstream's /v1/chat/completions and returns the answer: as is for HTTP/1.1 (JSON or
 * SSE), wrapped in one gRPC message with status trailers over HTTP/2. No parsing, validation,
 * balancing or metrics: what llmpool costs beyond this is what its features cost.
 *
 *   node --import tsx bench/minimal-proxy.ts --upstream http://127.0.0.1:PORT
 *
 * Prints its port. One cleartext port: HTTP/2 prior knowledge is told apart from HTTP/1.1 by
 * the connection preface, as llmpool does (src/server/listener.ts), so both see the same cost.
 */
import http from "node:http";
import http2 from "node:http2";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { createSniffingServer } from "../src/server/listener.js";

const { values } = parseArgs({ options: { upstream: { type: "string" }, port: { type: "string", default: "0" } } });
if (!values.upstream) throw new Error("--upstream URL is required");
const pool = new Pool(values.upstream, { connections: 256, pipelining: 1 });
const PATH = "/v1/chat/completions";
const JSON_HEADERS = { "content-type": "application/json" };

function readBody(req: http.IncomingMessage | http2.Http2ServerRequest): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts)));
    req.on("error", reject);
  });
}

const h1 = http.createServer({ keepAliveTimeout: 65_000 }, async (req, res) => {
  try {
    const body = await readBody(req);
    const up = await pool.request({ path: PATH, method: "POST", headers: JSON_HEADERS, body });
    res.writeHead(up.statusCode, { "content-type": String(up.headers["content-type"] ?? "application/json") });
    for await (const chunk of up.body) if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
    res.end();
  } catch (err) {
    res.writeHead(502).end(String(err));
  }
});

const h2 = http2.createServer({}, async (req, res) => {
  try {
    await readBody(req); // a gRPC frame: the upstream gets a fixed JSON request, as a translator would send
    const up = await pool.request({ path: PATH, method: "POST", headers: JSON_HEADERS, body: '{"model":"bench-model","messages":[]}' });
    const answer = Buffer.from(await up.body.arrayBuffer());
    const frame = Buffer.allocUnsafe(5 + answer.length);
    frame[0] = 0;
    frame.writeUInt32BE(answer.length, 1);
    answer.copy(frame, 5);
    res.writeHead(200, { "content-type": "application/grpc" });
    res.addTrailers({ "grpc-status": "0" });
    res.end(frame);
  } catch (err) {
    res.writeHead(502).end(String(err));
  }
});

const server = createSniffingServer(h1, h2);
server.listen(Number(values.port), "127.0.0.1", () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
