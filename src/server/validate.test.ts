/**
 * Every problem names its field: one bad request per rule, and the path the error gives
 * (README "Errors"). The paths are built only when a check fails (validate.ts), so each
 * one is checked here.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/llmpool/v1/llmpool_pb.js";
import { validateChatRequest } from "./validate.js";

type Init = MessageInitShape<typeof ChatRequestSchema>;
const ok: Init = { model: "m", messages: [{ role: "user", content: "hi" }] };
const img = (image: Record<string, unknown>) => ({ part: { case: "image" as const, value: { mimeType: "image/png", source: { case: "data" as const, value: new Uint8Array([1]) }, ...image } } });

function problem(init: Init): string | undefined {
  try {
    validateChatRequest(create(ChatRequestSchema, init));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

describe("validateChatRequest", () => {
  it("accepts a plain chat, images, tool calls and their answers", () => {
    expect(problem(ok)).toBeUndefined();
    expect(
      problem({
        model: "m",
        messages: [
          { role: "user", parts: [{ part: { case: "text", value: "see" } }, img({})] },
          { role: "assistant", toolCalls: [{ id: "c1", name: "f", arguments: "{}" }] },
          { role: "tool", toolCallId: "c1", content: "42" },
        ],
        tools: [{ name: "f" }],
        toolChoice: { mode: "function", functionName: "f" },
        stop: ["\n"],
      }),
    ).toBeUndefined();
  });

  const cases: [string, Init, string][] = [
    ["role", { model: "m", messages: [ok.messages![0]!, { role: "bot", content: "x" }] }, "messages[1].role: must be one of"],
    ["empty part", { model: "m", messages: [{ role: "user", parts: [{ part: { case: "text", value: "a" } }, {}] }] }, "messages[0].parts[1]: set text or image"],
    ["image off user", { model: "m", messages: [ok.messages![0]!, { role: "assistant", parts: [img({})] }] }, "messages[1].parts[0].image: images are only allowed"],
    ["image mime", { model: "m", messages: [{ role: "user", parts: [img({ mimeType: "text/plain" })] }] }, "messages[0].parts[0].image.mime_type:"],
    ["image url", { model: "m", messages: [{ role: "user", parts: [img({ source: { case: "url", value: "ftp://x" } })] }] }, "messages[0].parts[0].image.url:"],
    ["image detail", { model: "m", messages: [{ role: "user", parts: [img({ detail: "ultra" })] }] }, "messages[0].parts[0].image.detail:"],
    ["tool calls off assistant", { model: "m", messages: [{ role: "user", content: "x", toolCalls: [{ id: "a", name: "f" }] }] }, "messages[0].tool_calls: only assistant"],
    ["tool call id", { model: "m", messages: [{ role: "assistant", toolCalls: [{ id: "a", name: "f" }, { name: "g" }] }] }, "messages[0].tool_calls[1].id:"],
    ["tool call name", { model: "m", messages: [{ role: "assistant", toolCalls: [{ id: "a" }] }] }, "messages[0].tool_calls[0].name:"],
    ["tool answer id", { model: "m", messages: [ok.messages![0]!, { role: "tool", content: "x" }] }, "messages[1].tool_call_id: required"],
    ["stray tool_call_id", { model: "m", messages: [{ role: "user", content: "x", toolCallId: "a" }] }, "messages[0].tool_call_id: only for role tool"],
    ["no content", { model: "m", messages: [{ role: "user" }] }, "messages[0].content:"],
    ["stop", { ...ok, stop: ["a", ""] }, "stop[1]: must not be empty"],
    ["duplicate tool", { ...ok, tools: [{ name: "f" }, { name: "f" }] }, "tools[1].name: duplicate"],
    ["tool choice", { ...ok, toolChoice: { mode: "function", functionName: "g" }, tools: [{ name: "f" }] }, "tool_choice.function_name:"],
    ["tool choice without tools", { ...ok, toolChoice: { mode: "required" } }, "tool_choice: mode required needs tools"],
  ];
  it.each(cases)("names the field: %s", (_name, init, expected) => {
    expect(problem(init)).toContain(expected);
  });
});
