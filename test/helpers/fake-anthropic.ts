/**
 * A fake Anthropic Messages API: `POST /v1/messages` (JSON, or the named-event SSE stream with
 * message_start, content_block_*, message_delta, message_stop, ping and error events) and
 * `GET /v1/models`, shaped as the API reference and anthropic-sdk-typescript types describe.
 */
import { piecesOf, startFake, streamPieces, type Fake } from "./fake-upstream.js";

export function anthropicError(type: string, message: string) {
  return { type: "error", error: { type, message }, request_id: "req_fake" };
}

export async function startFakeAnthropic(name = "anthropic", models = ["claude-3-5-haiku-latest"]): Promise<Fake> {
  return startFake({
    name,
    isChat: (r) => r.method === "POST" && r.path === "/v1/messages",
    other(rec, ctx) {
      if (rec.method === "GET" && rec.path.startsWith("/v1/models")) {
        ctx.json(200, {
          data: models.map((id) => ({ type: "model", id, display_name: id, created_at: "2024-10-22T00:00:00Z" })),
          has_more: false,
          first_id: models[0] ?? null,
          last_id: models.at(-1) ?? null,
        });
        return true;
      }
      return false;
    },
    async render(rec, s, res, ctx) {
      const reply = s.reply ?? `Hello from ${name}`;
      const usage = s.usage ?? { prompt: 10, completion: reply.split(" ").length };
      const u = { input_tokens: usage.prompt - (usage.cached ?? 0), cache_creation_input_tokens: 0, cache_read_input_tokens: usage.cached ?? 0 };
      const stop = s.finish ?? (s.toolCalls ? "tool_use" : "end_turn");
      const id = `msg_${name}_${ctx.n}`;
      const model = rec.body?.model;
      const toolBlocks = (s.toolCalls ?? []).map((t) => ({ type: "tool_use", id: t.id, name: t.name, input: JSON.parse(t.arguments) }));
      if (!rec.body?.stream) {
        ctx.json(200, {
          id,
          type: "message",
          role: "assistant",
          model,
          content: [...(s.toolCalls && !s.reply ? [] : [{ type: "text", text: reply }]), ...toolBlocks],
          stop_reason: stop,
          stop_sequence: null,
          usage: { ...u, output_tokens: usage.completion },
        });
        return;
      }
      res.setHeader("content-type", "text/event-stream");
      res.flushHeaders();
      const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      send("message_start", {
        type: "message_start",
        message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { ...u, output_tokens: 1 } },
      });
      let block = 0;
      const text = !s.toolCalls || s.reply !== undefined;
      if (text) {
        send("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
        send("ping", { type: "ping" });
        const ok = await streamPieces(
          s,
          piecesOf(s, reply),
          res,
          ctx,
          (p) => send("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: p } }),
          () => send("error", anthropicError("overloaded_error", "Overloaded")),
        );
        if (!ok) return;
        send("content_block_stop", { type: "content_block_stop", index: 0 });
        block = 1;
      }
      for (const t of s.toolCalls ?? []) {
        send("content_block_start", { type: "content_block_start", index: block, content_block: { type: "tool_use", id: t.id, name: t.name, input: {} } });
        const half = Math.ceil(t.arguments.length / 2);
        for (const part of ["", t.arguments.slice(0, half), t.arguments.slice(half)]) {
          send("content_block_delta", { type: "content_block_delta", index: block, delta: { type: "input_json_delta", partial_json: part } });
        }
        send("content_block_stop", { type: "content_block_stop", index: block });
        block++;
      }
      send("message_delta", { type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: usage.completion } });
      send("message_stop", { type: "message_stop" });
      res.end();
    },
  });
}
