/**
 * A real llmpool for the door tests: two fake upstreams of wire formats other than the door
 * under test, both serving the public model `chat-model` (priority: the first answers while it
 * is up), behind a gateway key.
 */
import { startFakeAnthropic } from "./fake-anthropic.js";
import { startFakeOllama } from "./fake-ollama.js";
import { startFakeOpenAI } from "./fake-openai.js";
import type { Scenario } from "./fake-upstream.js";
import type { Harness } from "./harness.js";
import type { TestServer } from "./server.js";

export const GATEWAY_KEY = "gw-door-key-0123456789";
export const MODEL = "chat-model";

export type UpstreamKind = "openai" | "anthropic" | "ollama";

/** The fakes behind one door, with a scenario setter in the shared Scenario form. */
export interface DoorUpstream {
  name: string;
  kind: UpstreamKind;
  behave(s: Scenario): void;
  /** The upstream dies: it stops listening and cuts its connections. */
  kill(): Promise<void>;
  /** Chat requests it received. */
  chats(): number;
  /** The messages of the last chat request it received. */
  lastMessages(): { role: string; content?: unknown }[];
}

async function start(kind: UpstreamKind, name: string): Promise<{ up: DoorUpstream; provider: Record<string, unknown>; close(): Promise<void> }> {
  if (kind === "openai") {
    const f = await startFakeOpenAI(name, ["gpt-4o-mini"]);
    return {
      up: {
        name,
        kind,
        behave: (s) =>
          f.behave({
            reply: s.reply,
            chunks: s.chunks,
            toolCalls: s.toolCalls,
            dropAfterChunks: s.dropAfterChunks,
            status: s.status,
            errorBody: s.errorBody,
            usage: s.usage ? { prompt_tokens: s.usage.prompt, completion_tokens: s.usage.completion } : undefined,
          }),
        kill: () => f.kill(),
        chats: () => f.chatRequests().length,
        lastMessages: () => f.chatRequests().at(-1)?.body.messages ?? [],
      },
      provider: { name, type: "openai", base_url: f.url, api_key: `sk-${name}-secret-0123456789`, models: { [MODEL]: "gpt-4o-mini" } },
      close: () => f.close(),
    };
  }
  const f = kind === "anthropic" ? await startFakeAnthropic(name) : await startFakeOllama(name);
  const upstreamModel = kind === "anthropic" ? "claude-3-5-haiku-latest" : "llama3.2:latest";
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await f.close();
  };
  return {
    up: { name, kind, behave: (s) => f.behave(s), kill: close, chats: () => f.chatRequests().length, lastMessages: () => f.chatRequests().at(-1)?.body?.messages ?? [] },
    provider: {
      name,
      type: kind,
      base_url: f.origin,
      ...(kind === "anthropic" ? { api_key: `sk-ant-${name}-secret-0123456789` } : {}),
      models: { [MODEL]: upstreamModel },
    },
    close,
  };
}

/** Starts `kinds` as fakes (first has priority) and an llmpool over them. */
export async function doorPool(
  h: Harness,
  kinds: [UpstreamKind, UpstreamKind],
  extra: { pool?: Record<string, unknown>; server?: Record<string, unknown>; second?: Record<string, unknown> } = {},
): Promise<{ s: TestServer; first: DoorUpstream; second: DoorUpstream }> {
  const [a, b] = await Promise.all([start(kinds[0], `up-${kinds[0]}`), start(kinds[1], `up-${kinds[1]}`)]);
  h.cleanup.push(() => a.close(), () => b.close());
  const s = await h.serve({
    server: { auth: { api_keys: [GATEWAY_KEY] }, ...extra.server },
    pool: { strategy: "priority", ...extra.pool },
    providers: [
      { ...a.provider, priority: 1, pricing: PRICING },
      { ...b.provider, priority: 2, pricing: PRICING, ...extra.second },
    ],
  });
  return { s, first: a.up, second: b.up };
}

const PRICING = { input_per_1m: 1, output_per_1m: 2 };

/** The assistant prefill of an upstream's last request (stream resume), as text. */
export function prefillOf(up: DoorUpstream): string {
  const m = up.lastMessages().at(-1);
  if (m?.role !== "assistant") return "";
  const c = m.content;
  return typeof c === "string" ? c : Array.isArray(c) ? c.map((b: { text?: string }) => b.text ?? "").join("") : "";
}

export const TOOL_CALL = { id: "call_weather_1", name: "get_weather", arguments: '{"city":"Paris"}' };
