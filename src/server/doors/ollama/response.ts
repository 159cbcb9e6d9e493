/**
 * The service's answers in Ollama's shapes: one JSON object, or NDJSON lines ending with a
 * `done: true` line that carries the counts; errors as `{"error": "..."}` (also mid-stream,
 * where ollama-js raises them).
 */
import type { ConnectError } from "@connectrpc/connect";
import { argumentsObject } from "../fields.js";
import type { StreamFormat } from "../stream.js";
import type { ChatAnswer, StreamChunk } from "../service-view.js";

export type OllamaKind = "chat" | "generate";

const REASON: Record<string, string> = { stop: "stop", length: "length", tool_calls: "stop", content_filter: "stop" };

function finalFields(finish: string | undefined, u: ChatAnswer["usage"], latencyMs: number | undefined) {
  const ns = Math.round((latencyMs ?? 0) * 1e6);
  return {
    done: true,
    done_reason: REASON[finish ?? ""] ?? "stop",
    total_duration: ns,
    load_duration: 0,
    prompt_eval_count: u?.promptTokens ?? 0,
    prompt_eval_duration: 0,
    eval_count: u?.completionTokens ?? 0,
    eval_duration: ns,
  };
}

const calls = (list: { name?: string; arguments?: string }[]) => list.map((c) => ({ function: { name: c.name ?? "", arguments: argumentsObject(c.arguments ?? "") } }));

export function answer(kind: OllamaKind, a: ChatAnswer, model: string) {
  const content = a.message?.content ?? "";
  const tc = a.message?.toolCalls ?? [];
  const head = { model: model || a.model, created_at: new Date().toISOString() };
  if (kind === "generate") return { ...head, response: content, ...finalFields(a.finishReason, a.usage, a.latencyMs), context: [] };
  return { ...head, message: { role: "assistant", content, ...(tc.length > 0 ? { tool_calls: calls(tc) } : {}) }, ...finalFields(a.finishReason, a.usage, a.latencyMs) };
}

/** NDJSON lines. Tool calls are gathered and sent whole, as Ollama does, just before the last line. */
export function ollamaStream(kind: OllamaKind, model: string): StreamFormat {
  const tools: { name?: string; arguments?: string }[] = [];
  const line = (o: object) => JSON.stringify(o) + "\n";
  let name = model;
  return {
    contentType: "application/x-ndjson",
    chunk(c: StreamChunk, first: boolean) {
      if (first && !name) name = c.model ?? "";
      const at = new Date().toISOString();
      let out = "";
      for (const t of c.toolCalls ?? []) {
        const i = t.index ?? 0;
        const cur = (tools[i] ??= { arguments: "" });
        if (t.name) cur.name = t.name;
        cur.arguments += t.argumentsDelta ?? "";
      }
      if (c.delta) {
        out += line(kind === "chat" ? { model: name, created_at: at, message: { role: "assistant", content: c.delta }, done: false } : { model: name, created_at: at, response: c.delta, done: false });
      }
      if (c.finishReason) {
        if (tools.length > 0 && kind === "chat") out += line({ model: name, created_at: at, message: { role: "assistant", content: "", tool_calls: calls(tools) }, done: false });
        const fin = finalFields(c.finishReason, c.usage, c.latencyMs);
        out += line(kind === "chat" ? { model: name, created_at: at, message: { role: "assistant", content: "" }, ...fin } : { model: name, created_at: at, response: "", ...fin, context: [] });
      }
      return out;
    },
    end: () => "",
    error: (err) => line(ollamaError(err)),
  };
}

export const ollamaError = (err: ConnectError) => ({ error: err.rawMessage });
