/**
 * A fake Gemini API (v1beta): `models/{model}:generateContent`, `:streamGenerateContent?alt=sse`
 * and `GET models`, shaped as the REST reference and @google/genai types describe, with
 * google.rpc error bodies.
 */
import { fakeVector } from "./fake-embeddings.js";
import { piecesOf, startFake, streamPieces, type Fake } from "./fake-upstream.js";

export function geminiError(code: number, status: string, message: string, details: unknown[] = []) {
  return { error: { code, message, status, details } };
}

const CHAT = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent\?alt=sse)$/;

export async function startFakeGemini(name = "gemini", models = ["gemini-2.0-flash"]): Promise<Fake> {
  return startFake({
    name,
    isChat: (r) => r.method === "POST" && CHAT.test(r.path),
    other(rec, ctx) {
      if (rec.method === "POST" && rec.path.endsWith(":batchEmbedContents")) {
        const reqs: { content: { parts: { text: string }[] }; outputDimensionality?: number }[] = rec.body?.requests ?? [];
        ctx.json(200, { embeddings: reqs.map((r) => ({ values: fakeVector(name, r.content.parts[0]!.text, r.outputDimensionality) })) });
        return true;
      }
      if (rec.method === "GET" && rec.path.startsWith("/v1beta/models")) {
        ctx.json(200, {
          models: [
            ...models.map((m) => ({ name: `models/${m}`, displayName: m, supportedGenerationMethods: ["generateContent", "countTokens"] })),
            { name: "models/text-embedding-004", supportedGenerationMethods: ["embedContent"] },
          ],
        });
        return true;
      }
      return false;
    },
    async render(rec, s, res, ctx) {
      const [, model, op] = CHAT.exec(rec.path)!;
      const reply = s.reply ?? `Hello from ${name}`;
      const usage = s.usage ?? { prompt: 10, completion: reply.split(" ").length };
      const usageMetadata = {
        promptTokenCount: usage.prompt,
        candidatesTokenCount: usage.completion,
        totalTokenCount: usage.prompt + usage.completion,
        ...(usage.cached ? { cachedContentTokenCount: usage.cached } : {}),
      };
      const finish = s.finish ?? "STOP";
      const calls = (s.toolCalls ?? []).map((t) => ({ functionCall: { name: t.name, args: JSON.parse(t.arguments) } }));
      const base = { modelVersion: model, responseId: `resp-${name}-${ctx.n}` };
      if (op === "generateContent") {
        const parts = [...(s.toolCalls && !s.reply ? [] : [{ text: reply }]), ...calls];
        ctx.json(200, { candidates: [{ content: { role: "model", parts }, finishReason: finish, index: 0 }], usageMetadata, ...base });
        return;
      }
      res.setHeader("content-type", "text/event-stream");
      res.flushHeaders();
      const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\r\n\r\n`);
      if (!s.toolCalls || s.reply !== undefined) {
        const ok = await streamPieces(
          s,
          piecesOf(s, reply),
          res,
          ctx,
          (p) => send({ candidates: [{ content: { role: "model", parts: [{ text: p }] }, index: 0 }], usageMetadata: { promptTokenCount: usage.prompt }, ...base }),
          () => send(geminiError(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")),
        );
        if (!ok) return;
      }
      send({
        candidates: [{ content: { role: "model", parts: calls.length > 0 ? calls : [{ text: "" }] }, finishReason: finish, index: 0 }],
        usageMetadata,
        ...base,
      });
      res.end();
    },
  });
}
