/**
 * Neutral ChatRequest -> Gemini `generateContent` request body.
 *
 * Roles become `user` / `model`, system messages `systemInstruction`, images `inlineData`
 * (bytes) or `fileData` (URLs), tool calls `functionCall` parts and tool results
 * `functionResponse` parts matched by function name. Consecutive turns of one role merge.
 */
import type { ChatRequest } from "../../../gen/llmpool/v1/llmpool_pb.js";
import { imageSource, jsonObjectOf, messageText, parseArguments, systemTexts, toolNameFor } from "../messages.js";

type Json = Record<string, unknown>;
type Content = { role: "user" | "model"; parts: Json[] };

function push(contents: Content[], role: Content["role"], parts: Json[]): void {
  if (parts.length === 0) return;
  const last = contents[contents.length - 1];
  if (last && last.role === role) last.parts.push(...parts);
  else contents.push({ role, parts });
}

export function geminiContents(req: ChatRequest): Content[] {
  const contents: Content[] = [];
  req.messages.forEach((m, i) => {
    if (m.role === "system") return;
    if (m.role === "tool") {
      const text = messageText(m);
      // "output" holds a plain result; a JSON object result is passed as the response itself.
      const response = jsonObjectOf(text) ?? { output: text };
      push(contents, "user", [{ functionResponse: { name: toolNameFor(req, i), response } }]);
      return;
    }
    const parts: Json[] = [];
    if (m.content) parts.push({ text: m.content });
    for (const p of m.parts) {
      if (p.part.case === "text") {
        if (p.part.value) parts.push({ text: p.part.value });
      } else if (p.part.case === "image") {
        const src = imageSource(p.part.value);
        parts.push(
          src.kind === "bytes"
            ? { inlineData: { mimeType: src.mimeType, data: src.base64 } }
            : { fileData: { mimeType: src.mimeType, fileUri: src.url } },
        );
      }
    }
    if (m.role === "assistant") {
      for (const c of m.toolCalls) parts.push({ functionCall: { name: c.name, args: parseArguments(c.arguments) } });
    }
    push(contents, m.role === "assistant" ? "model" : "user", parts);
  });
  return contents;
}

const MODES: Record<string, string> = { auto: "AUTO", none: "NONE", required: "ANY", function: "ANY" };

export function buildGeminiBody(req: ChatRequest, prefill?: string): string {
  const contents = geminiContents(req);
  // A trailing model turn is continued by the model (stream resume).
  if (prefill) push(contents, "model", [{ text: prefill }]);
  const body: Json = { contents };
  const system = systemTexts(req).filter((t) => t.length > 0);
  if (system.length > 0) body.systemInstruction = { parts: system.map((text) => ({ text })) };
  const gen: Json = {};
  if (req.temperature !== undefined) gen.temperature = req.temperature;
  if (req.topP !== undefined) gen.topP = req.topP;
  if (req.maxTokens !== undefined) gen.maxOutputTokens = req.maxTokens;
  if (req.stop.length > 0) gen.stopSequences = req.stop;
  if (req.seed !== undefined) gen.seed = Number(req.seed);
  if (req.presencePenalty !== undefined) gen.presencePenalty = req.presencePenalty;
  if (req.frequencyPenalty !== undefined) gen.frequencyPenalty = req.frequencyPenalty;
  const rf = req.responseFormat;
  if (rf && (rf.type === "json_object" || rf.type === "json_schema")) {
    gen.responseMimeType = "application/json";
    if (rf.type === "json_schema" && rf.schema) gen.responseJsonSchema = rf.schema;
  }
  if (Object.keys(gen).length > 0) body.generationConfig = gen;
  if (req.tools.length > 0) {
    body.tools = [
      {
        functionDeclarations: req.tools.map((t) => ({
          name: t.name,
          ...(t.description ? { description: t.description } : {}),
          // Full JSON Schema (the OpenAPI-subset `parameters` rejects common keywords).
          parametersJsonSchema: t.parameters ?? { type: "object", properties: {} },
        })),
      },
    ];
    const tc = req.toolChoice;
    if (tc?.mode) {
      const cfg: Json = { mode: MODES[tc.mode] ?? "AUTO" };
      if (tc.mode === "function") cfg.allowedFunctionNames = [tc.functionName];
      body.toolConfig = { functionCallingConfig: cfg };
    }
  }
  return JSON.stringify(body);
}
