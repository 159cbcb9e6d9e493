/**
 * Table-driven: the same neutral requests (text, image, tool call, tool result, streaming text,
 * streaming tool deltas) through every adapter, via the real gRPC server, against each
 * provider's fake upstream. The neutral answers must be identical; the wire requests must be
 * each provider's own format.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Fake } from "../helpers/fake-upstream.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { EXPECTED_SYSTEM, EXPECTED_TOOL_DEFINITION, PNG, ROWS, WEATHER_TOOL, type Row } from "./table.js";

const TEXT = { reply: "Paris is the capital.", usage: { prompt: 21, completion: 6 } };
const TOOL = { toolCalls: [{ id: "call_w1", name: "get_weather", arguments: '{"city":"Paris"}' }], usage: { prompt: 30, completion: 9 } };

function neutralUnary(res: any) {
  return {
    content: res.message.content,
    toolCalls: res.message.toolCalls.map((c: any) => ({ name: c.name, arguments: JSON.parse(c.arguments), hasId: c.id.length > 0 })),
    finishReason: res.finishReason,
    usage: { prompt: res.usage.promptTokens, completion: res.usage.completionTokens, estimated: res.usage.estimated },
  };
}

async function neutralStream(it: AsyncIterable<any>) {
  let text = "";
  const calls = new Map<number, { id: string; name: string; args: string }>();
  let last: any;
  let chunks = 0;
  for await (const c of it) {
    chunks++;
    text += c.delta;
    for (const d of c.toolCalls) {
      const call = calls.get(d.index) ?? { id: "", name: "", args: "" };
      call.id ||= d.id;
      call.name ||= d.name;
      call.args += d.argumentsDelta;
      calls.set(d.index, call);
    }
    last = c;
  }
  return {
    text,
    toolCalls: [...calls.values()].map((c) => ({ name: c.name, arguments: JSON.parse(c.args), hasId: c.id.length > 0 })),
    finishReason: last.finishReason,
    usage: { prompt: last.usage.promptTokens, completion: last.usage.completionTokens, estimated: last.usage.estimated },
    chunks,
  };
}

describe.each(ROWS.map((r) => [r.type, r] as [string, Row]))("%s: same neutral shape", (type, row) => {
  let fake: Fake;
  let s: TestServer;
  beforeAll(async () => {
    const started = await row.start();
    fake = started.fake;
    s = await startServer({ pool: { max_retries: 0 }, providers: [started.provider] });
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });

  it("text: maps system, sampling and the answer both ways", async () => {
    fake.behave(TEXT);
    const res = await s.grpc.chat({
      model: "m",
      messages: [
        { role: "system", content: "Be terse." },
        { role: "user", content: "Capital of France?" },
      ],
      temperature: 0.2,
      maxTokens: 50,
    });
    expect(neutralUnary(res)).toEqual({
      content: "Paris is the capital.",
      toolCalls: [],
      finishReason: "stop",
      usage: { prompt: 21, completion: 6, estimated: false },
    });
    expect(res.provider).toBe(type);
    const rec = fake.chatRequests().at(-1)!;
    const [got, want] = row.auth(rec);
    expect(got).toBe(want);
    expect(row.system(rec.body)).toEqual(EXPECTED_SYSTEM[type]);
    expect(JSON.stringify(rec.body)).toContain("Capital of France?");
    expect(JSON.stringify(rec.body)).toMatch(/0\.2/);
    expect(JSON.stringify(rec.body)).toMatch(/\b50\b/);
  });

  it("image: inline bytes reach the upstream in its own form", async () => {
    fake.behave(TEXT);
    const res = await s.connect.chat({
      model: "m",
      messages: [
        { role: "system", content: "Be terse." },
        { role: "user", content: "What is this?", parts: [{ part: { case: "image", value: { source: { case: "data", value: PNG }, mimeType: "image/png" } } }] },
      ],
    });
    expect(neutralUnary(res).content).toBe("Paris is the capital.");
    expect(row.image(fake.chatRequests().at(-1)!.body)).toEqual(row.expectedImage);
  });

  it("tool call: definitions go up, calls come back", async () => {
    fake.behave(TOOL);
    const res = await s.grpc.chat({ model: "m", messages: [{ role: "user", content: "Weather in Paris?" }], tools: [WEATHER_TOOL], toolChoice: { mode: "auto" } });
    expect(neutralUnary(res)).toEqual({
      content: "",
      toolCalls: [{ name: "get_weather", arguments: { city: "Paris" }, hasId: true }],
      finishReason: "tool_calls",
      usage: { prompt: 30, completion: 9, estimated: false },
    });
    expect(row.toolDefinition(fake.chatRequests().at(-1)!.body)).toEqual(EXPECTED_TOOL_DEFINITION[type]);
  });

  it("tool result: the answer to a call is sent in the upstream's form", async () => {
    fake.behave(TEXT);
    await s.grpc.chat({
      model: "m",
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", toolCalls: [{ id: "call_w1", name: "get_weather", arguments: '{"city":"Paris"}' }] },
        { role: "tool", toolCallId: "call_w1", content: '{"temp_c":21}' },
      ],
      tools: [WEATHER_TOOL],
    });
    expect(row.toolResult(fake.chatRequests().at(-1)!.body)).toEqual(row.expectedToolResult);
  });

  it("streaming text: deltas, finish reason and usage", async () => {
    fake.behave({ ...TEXT, chunks: ["Par", "is is ", "the cap", "ital."] });
    const out = await neutralStream(s.grpc.streamChat({ model: "m", messages: [{ role: "user", content: "Capital of France?" }] }));
    expect(out).toMatchObject({ text: "Paris is the capital.", toolCalls: [], finishReason: "stop", usage: { prompt: 21, completion: 6, estimated: false } });
    expect(out.chunks).toBeGreaterThanOrEqual(5);
  });

  it("streaming tool deltas: assembled calls match the unary ones", async () => {
    fake.behave(TOOL);
    const out = await neutralStream(s.grpc.streamChat({ model: "m", messages: [{ role: "user", content: "Weather?" }], tools: [WEATHER_TOOL] }));
    expect(out).toMatchObject({
      text: "",
      toolCalls: [{ name: "get_weather", arguments: { city: "Paris" }, hasId: true }],
      finishReason: "tool_calls",
      usage: { prompt: 30, completion: 9, estimated: false },
    });
  });

  it("never lets the upstream secret into responses or stats", async () => {
    fake.behave({ status: 401, errorBody: { error: { message: `Invalid key ${row.secret}` }, message: `Invalid key ${row.secret}` } });
    const err = await s.grpc.chat({ model: "m", messages: [{ role: "user", content: "x" }] }).catch((e: Error) => e);
    expect(String(err)).not.toContain(row.secret);
    const stats = await s.grpc.getPoolStats({});
    expect(JSON.stringify(stats, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain(row.secret);
  });
});
