/**
 * A fake Cohere v2 API: `POST /v2/chat` (JSON, or SSE with message-start, content-start,
 * content-delta, content-end, tool-plan-delta, tool-call-start/-delta/-end, message-end) and
 * `GET /v1/models`, shaped as Cohere's API reference and cohere-typescript types describe.
 */
import { fakeVector } from "./fake-embeddings.js";
import { piecesOf, startFake, streamPieces, type Fake } from "./fake-upstream.js";

export async function startFakeCohere(name = "cohere", models = ["command-r-plus"]): Promise<Fake> {
  return startFake({
    name,
    isChat: (r) => r.method === "POST" && r.path === "/v2/chat",
    other(rec, ctx) {
      if (rec.method === "POST" && rec.path === "/v2/embed") {
        const texts: string[] = rec.body?.texts ?? [];
        ctx.json(200, { id: "emb-1", embeddings: { float: texts.map((t) => fakeVector(name, t, rec.body?.output_dimension)) }, texts, meta: { billed_units: { input_tokens: texts.length * 2 } } });
        return true;
      }
      if (rec.method === "GET" && rec.path.startsWith("/v1/models")) {
        ctx.json(200, { models: models.map((m) => ({ name: m, endpoints: ["chat", "generate"], context_length: 128000 })) });
        return true;
      }
      return false;
    },
    async render(rec, s, res, ctx) {
      const reply = s.reply ?? `Hello from ${name}`;
      const u = s.usage ?? { prompt: 10, completion: reply.split(" ").length };
      const usage = {
        billed_units: { input_tokens: u.prompt, output_tokens: u.completion },
        tokens: { input_tokens: u.prompt + 200, output_tokens: u.completion },
        ...(u.cached ? { cached_tokens: u.cached } : {}),
      };
      const finish = s.finish ?? (s.toolCalls ? "TOOL_CALL" : "COMPLETE");
      const id = `co-${name}-${ctx.n}`;
      const calls = (s.toolCalls ?? []).map((t) => ({ id: t.id, type: "function", function: { name: t.name, arguments: t.arguments } }));
      if (!rec.body?.stream) {
        const message: Record<string, unknown> = { role: "assistant" };
        if (calls.length) {
          message.tool_plan = "I will call the tool.";
          message.tool_calls = calls;
        }
        if (!s.toolCalls || s.reply) message.content = [{ type: "text", text: reply }];
        ctx.json(200, { id, finish_reason: finish, message, usage });
        return;
      }
      res.setHeader("content-type", "text/event-stream");
      res.flushHeaders();
      const send = (data: { type: string }) => res.write(`event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`);
      send({ id, type: "message-start", delta: { message: { role: "assistant", content: [], tool_plan: "", tool_calls: [], citations: [] } } } as never);
      if (!s.toolCalls || s.reply !== undefined) {
        send({ type: "content-start", index: 0, delta: { message: { content: { type: "text", text: "" } } } } as never);
        const ok = await streamPieces(
          s,
          piecesOf(s, reply),
          res,
          ctx,
          (p) => send({ type: "content-delta", index: 0, delta: { message: { content: { text: p } } } } as never),
          () => send({ type: "message-end", delta: { finish_reason: "ERROR", error: "internal server error, this has been reported to our developers" } } as never),
        );
        if (!ok) return;
        send({ type: "content-end", index: 0 } as never);
      }
      if (calls.length) {
        send({ type: "tool-plan-delta", delta: { message: { tool_plan: "I will call the tool." } } } as never);
        calls.forEach((c, index) => {
          send({ type: "tool-call-start", index, delta: { message: { tool_calls: { ...c, function: { name: c.function.name, arguments: "" } } } } } as never);
          const half = Math.ceil(c.function.arguments.length / 2);
          for (const part of [c.function.arguments.slice(0, half), c.function.arguments.slice(half)]) {
            send({ type: "tool-call-delta", index, delta: { message: { tool_calls: { function: { arguments: part } } } } } as never);
          }
          send({ type: "tool-call-end", index } as never);
        });
      }
      send({ type: "message-end", delta: { finish_reason: finish, usage } } as never);
      res.end();
    },
  });
}
