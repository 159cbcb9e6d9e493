/**
 * A fake native Ollama server: `POST /api/chat` (one JSON object with `stream: false`, NDJSON
 * otherwise: Ollama streams when `stream` is absent), `GET /api/tags`, `GET /api/version`,
 * shaped as Ollama's API docs and ollama-js types describe.
 */
import { fakeVector } from "./fake-embeddings.js";
import { piecesOf, startFake, streamPieces, type Fake } from "./fake-upstream.js";

export async function startFakeOllama(name = "ollama", models = ["llama3.2:latest"]): Promise<Fake> {
  return startFake({
    name,
    isChat: (r) => r.method === "POST" && r.path === "/api/chat",
    other(rec, ctx) {
      if (rec.method === "GET" && rec.path === "/api/tags") {
        ctx.json(200, {
          models: models.map((m) => ({ name: m, model: m, modified_at: "2025-01-01T00:00:00Z", size: 2019393189, digest: "a80c4f17acd5", details: { format: "gguf", family: "llama" } })),
        });
        return true;
      }
      if (rec.method === "POST" && rec.path === "/api/embed") {
        const inputs: string[] = Array.isArray(rec.body?.input) ? rec.body.input : [rec.body?.input];
        ctx.json(200, { model: rec.body?.model, embeddings: inputs.map((t) => fakeVector(name, t, rec.body?.dimensions)), prompt_eval_count: inputs.length * 3 });
        return true;
      }
      if (rec.method === "GET" && rec.path === "/api/version") {
        ctx.json(200, { version: "0.9.0" });
        return true;
      }
      return false;
    },
    async render(rec, s, res, ctx) {
      const reply = s.reply ?? `Hello from ${name}`;
      const usage = s.usage ?? { prompt: 10, completion: reply.split(" ").length };
      const model = rec.body?.model;
      const at = "2025-01-01T00:00:00.000Z";
      const calls = (s.toolCalls ?? []).map((t) => ({ function: { name: t.name, arguments: JSON.parse(t.arguments) } }));
      const final = {
        model,
        created_at: at,
        done: true,
        done_reason: s.finish ?? "stop",
        total_duration: 5_000_000,
        load_duration: 1_000_000,
        prompt_eval_count: usage.prompt,
        prompt_eval_duration: 1_000_000,
        eval_count: usage.completion,
        eval_duration: 3_000_000,
      };
      if (rec.body?.stream === false) {
        const content = s.toolCalls && !s.reply ? "" : reply;
        ctx.json(200, { ...final, message: { role: "assistant", content, ...(calls.length ? { tool_calls: calls } : {}) } });
        return;
      }
      res.setHeader("content-type", "application/x-ndjson");
      res.flushHeaders();
      const line = (o: unknown) => res.write(JSON.stringify(o) + "\n");
      if (!s.toolCalls || s.reply !== undefined) {
        const ok = await streamPieces(
          s,
          piecesOf(s, reply),
          res,
          ctx,
          (p) => line({ model, created_at: at, message: { role: "assistant", content: p }, done: false }),
          () => line({ error: "an error was encountered while running the model: unexpected EOF" }),
        );
        if (!ok) return;
      }
      if (calls.length) line({ model, created_at: at, message: { role: "assistant", content: "", tool_calls: calls }, done: false });
      line({ ...final, message: { role: "assistant", content: "" } });
      res.end();
    },
  });
}
