/**
 * A fake Azure OpenAI resource: chat completions on deployment paths
 * (`/openai/deployments/{deployment}/chat/completions?api-version=...`, OpenAI's JSON and SSE
 * shapes with `include_usage`) behind an `api-key` header, and the deployments list.
 */
import { fakeVector } from "./fake-embeddings.js";
import { piecesOf, startFake, streamPieces, type Fake } from "./fake-upstream.js";

const CHAT = /^\/openai\/deployments\/([^/]+)\/chat\/completions\?api-version=([\w-]+)$/;

export async function startFakeAzure(name = "azure", key = "azure-key-0123456789", deployments = ["gpt4o-prod"]): Promise<Fake> {
  return startFake({
    name,
    isChat: (r) => r.method === "POST" && CHAT.test(r.path),
    gate(rec, ctx) {
      if (rec.headers["api-key"] === key) return false;
      ctx.json(401, { error: { code: "401", message: "Access denied due to invalid subscription key or wrong API endpoint." } });
      return true;
    },
    other(rec, ctx) {
      const emb = /^\/openai\/deployments\/([^/]+)\/embeddings\?api-version=/.exec(rec.path);
      if (rec.method === "POST" && emb) {
        if (!deployments.includes(decodeURIComponent(emb[1]!))) {
          ctx.json(404, { error: { code: "DeploymentNotFound", message: "The API deployment for this resource does not exist." } });
          return true;
        }
        const inputs: string[] = rec.body?.input ?? [];
        ctx.json(200, { object: "list", model: "text-embedding-3-small", data: inputs.map((t, index) => ({ object: "embedding", index, embedding: fakeVector(name, t) })), usage: { prompt_tokens: 7, total_tokens: 7 } });
        return true;
      }
      if (rec.method === "GET" && rec.path.startsWith("/openai/models?api-version=")) {
        ctx.json(200, { data: [{ id: "gpt-4o-2024-11-20", object: "model", capabilities: { chat_completion: true } }], object: "list" });
        return true;
      }
      if (rec.method === "GET" && rec.path.startsWith("/openai/deployments?")) {
        ctx.json(200, { data: deployments.map((id) => ({ id, model: "gpt-4o", object: "deployment", status: "succeeded" })), object: "list" });
        return true;
      }
      return false;
    },
    async render(rec, s, res, ctx) {
      const [, deployment] = CHAT.exec(rec.path)!;
      const reply = s.reply ?? `Hello from ${name}`;
      const u = s.usage ?? { prompt: 10, completion: reply.split(" ").length };
      const usage = {
        prompt_tokens: u.prompt,
        completion_tokens: u.completion,
        total_tokens: u.prompt + u.completion,
        prompt_tokens_details: { cached_tokens: u.cached ?? 0 },
      };
      const finish = s.finish ?? (s.toolCalls ? "tool_calls" : "stop");
      const base = { id: `chatcmpl-${name}-${ctx.n}`, created: 1, model: `gpt-4o-2024-11-20 (${deployment})` };
      const calls = (s.toolCalls ?? []).map((t) => ({ id: t.id, type: "function", function: { name: t.name, arguments: t.arguments } }));
      if (!rec.body?.stream) {
        const message = { role: "assistant", content: s.toolCalls && !s.reply ? null : reply, ...(calls.length ? { tool_calls: calls } : {}) };
        ctx.json(200, { ...base, object: "chat.completion", choices: [{ index: 0, message, finish_reason: finish, content_filter_results: {} }], usage });
        return;
      }
      res.setHeader("content-type", "text/event-stream");
      res.flushHeaders();
      const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      const chunk = (delta: unknown, finish_reason: string | null = null) =>
        send({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason }] });
      // Azure sends a first chunk with prompt filter results and no choices.
      send({ id: "", object: "", created: 0, model: "", choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] });
      if (!s.toolCalls || s.reply !== undefined) {
        const ok = await streamPieces(s, piecesOf(s, reply), res, ctx, (p) => chunk({ content: p }), () =>
          send({ error: { message: "The server had an error while processing your request.", type: "server_error" } }),
        );
        if (!ok) return;
      }
      calls.forEach((c, index) => {
        chunk({ tool_calls: [{ index, id: c.id, type: "function", function: { name: c.function.name, arguments: "" } }] });
        chunk({ tool_calls: [{ index, function: { arguments: c.function.arguments } }] });
      });
      chunk({}, finish);
      if (rec.body?.stream_options?.include_usage) send({ ...base, object: "chat.completion.chunk", choices: [], usage });
      res.write("data: [DONE]\n\n");
      res.end();
    },
  });
}
