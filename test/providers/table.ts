/**
 * One row per wire protocol: how to start its fake upstream, the provider config that points
 * at it, and where its wire format puts the things the neutral request carries. Shared by the
 * table-driven test (test/providers/neutral-shape.test.ts) and the per-provider tests.
 */
import { startFakeOpenAI, type FakeUpstream } from "../helpers/fake-openai.js";
import { startFakeAnthropic } from "../helpers/fake-anthropic.js";
import { startFakeAzure } from "../helpers/fake-azure.js";
import { startFakeBedrock, type AwsKeys } from "../helpers/fake-bedrock.js";
import { startFakeCohere } from "../helpers/fake-cohere.js";
import { startFakeGemini } from "../helpers/fake-gemini.js";
import { startFakeOllama } from "../helpers/fake-ollama.js";
import type { Fake, Recorded, Scenario } from "../helpers/fake-upstream.js";

export const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
export const PNG_B64 = PNG.toString("base64");
export const AWS: AwsKeys = { accessKeyId: "AKIDFAKEEXAMPLE00001", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYFAKESECRET1" };

export interface Row {
  type: string;
  start(): Promise<{ fake: Fake; provider: Record<string, unknown> }>;
  /** The secret the upstream authenticates with (must never leak). */
  secret: string;
  /** The header that carries the credential, and its expected value. */
  auth(rec: Recorded): [string | undefined, string];
  /** Wire pieces of a recorded chat request. */
  system(body: any): unknown;
  image(body: any): unknown;
  expectedImage: unknown;
  toolDefinition(body: any): unknown;
  /** The tool result message / block / part as sent upstream. */
  toolResult(body: any): unknown;
  expectedToolResult: unknown;
}

/** fake-openai speaks its own behaviour dialect; wrap it in the shared Fake shape. */
function openaiFake(up: FakeUpstream): Fake {
  return {
    name: up.name,
    origin: up.url,
    requests: up.requests as unknown as Recorded[],
    chatRequests: () => up.chatRequests() as unknown as Recorded[],
    behave(s) {
      const toBehavior = (x: Scenario) => ({
        status: x.status,
        errorBody: x.errorBody,
        headers: x.headers,
        reply: x.reply,
        chunks: x.chunks ?? (x.toolCalls && x.reply === undefined ? [] : undefined),
        toolCalls: x.toolCalls,
        usage: x.usage ? { prompt_tokens: x.usage.prompt, completion_tokens: x.usage.completion } : undefined,
      });
      up.behave(typeof s === "function" ? (r, n) => toBehavior(s(r as unknown as Recorded, n)) : toBehavior(s));
    },
    waitForAbort: () => up.waitForAbort() as unknown as Promise<Recorded>,
    close: () => up.close(),
  };
}

const WEATHER_SCHEMA = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };

export const ROWS: Row[] = [
  {
    type: "openai",
    secret: "sk-test-openai-secret-0123456789",
    async start() {
      const fake = openaiFake(await startFakeOpenAI("openai"));
      return { fake, provider: { name: "openai", type: "openai", base_url: fake.origin, api_key: this.secret, models: ["m"] } };
    },
    auth: (r) => [r.headers.authorization as string, "Bearer sk-test-openai-secret-0123456789"],
    system: (b) => b.messages[0],
    image: (b) => b.messages[1].content[1],
    expectedImage: { type: "image_url", image_url: { url: `data:image/png;base64,${PNG_B64}` } },
    toolDefinition: (b) => b.tools[0],
    toolResult: (b) => b.messages.at(-1),
    expectedToolResult: { role: "tool", content: '{"temp_c":21}', tool_call_id: "call_w1" },
  },
  {
    type: "azure",
    secret: "azure-key-0123456789",
    async start() {
      const fake = await startFakeAzure("azure", this.secret, ["gpt4o-prod"]);
      const provider = { name: "azure", type: "azure", base_url: fake.origin, api_key: this.secret, models: { m: "gpt-4o" }, deployments: { "gpt-4o": "gpt4o-prod" } };
      return { fake, provider };
    },
    auth: (r) => [r.headers["api-key"] as string, "azure-key-0123456789"],
    system: (b) => b.messages[0],
    image: (b) => b.messages[1].content[1],
    expectedImage: { type: "image_url", image_url: { url: `data:image/png;base64,${PNG_B64}` } },
    toolDefinition: (b) => b.tools[0],
    toolResult: (b) => b.messages.at(-1),
    expectedToolResult: { role: "tool", content: '{"temp_c":21}', tool_call_id: "call_w1" },
  },
  {
    type: "anthropic",
    secret: "sk-ant-test-0123456789abcdef",
    async start() {
      const fake = await startFakeAnthropic("anthropic");
      return { fake, provider: { name: "anthropic", type: "anthropic", base_url: fake.origin, api_key: this.secret, models: { m: "claude-3-5-haiku-latest" } } };
    },
    auth: (r) => [r.headers["x-api-key"] as string, "sk-ant-test-0123456789abcdef"],
    system: (b) => b.system,
    image: (b) => b.messages[0].content[1],
    expectedImage: { type: "image", source: { type: "base64", media_type: "image/png", data: PNG_B64 } },
    toolDefinition: (b) => b.tools[0],
    toolResult: (b) => b.messages.at(-1),
    expectedToolResult: { role: "user", content: [{ type: "tool_result", tool_use_id: "call_w1", content: '{"temp_c":21}' }] },
  },
  {
    type: "gemini",
    secret: "AIzaFAKEgeminikey0123456789abcdefghij",
    async start() {
      const fake = await startFakeGemini("gemini");
      return { fake, provider: { name: "gemini", type: "gemini", base_url: `${fake.origin}/v1beta`, api_key: this.secret, models: { m: "gemini-2.0-flash" } } };
    },
    auth: (r) => [r.headers["x-goog-api-key"] as string, "AIzaFAKEgeminikey0123456789abcdefghij"],
    system: (b) => b.systemInstruction,
    image: (b) => b.contents[0].parts[1],
    expectedImage: { inlineData: { mimeType: "image/png", data: PNG_B64 } },
    toolDefinition: (b) => b.tools[0].functionDeclarations[0],
    toolResult: (b) => b.contents.at(-1),
    expectedToolResult: { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { temp_c: 21 } } }] },
  },
  {
    type: "ollama",
    secret: "ollama-proxy-token-0123456789",
    async start() {
      const fake = await startFakeOllama("ollama");
      const provider = { name: "ollama", type: "ollama", base_url: fake.origin, api_key: this.secret, models: { m: "llama3.2:latest" }, capabilities: { vision: true } };
      return { fake, provider };
    },
    auth: (r) => [r.headers.authorization as string, "Bearer ollama-proxy-token-0123456789"],
    system: (b) => b.messages[0],
    image: (b) => b.messages[1].images,
    expectedImage: [PNG_B64],
    toolDefinition: (b) => b.tools[0],
    toolResult: (b) => b.messages.at(-1),
    expectedToolResult: { role: "tool", content: '{"temp_c":21}', tool_name: "get_weather" },
  },
  {
    type: "cohere",
    secret: "co-test-key-0123456789abcdef",
    async start() {
      const fake = await startFakeCohere("cohere");
      const provider = { name: "cohere", type: "cohere", base_url: fake.origin, api_key: this.secret, models: { m: "command-a-vision-07-2025" }, capabilities: { vision: true } };
      return { fake, provider };
    },
    auth: (r) => [r.headers.authorization as string, "Bearer co-test-key-0123456789abcdef"],
    system: (b) => b.messages[0],
    image: (b) => b.messages[1].content[1],
    expectedImage: { type: "image_url", image_url: { url: `data:image/png;base64,${PNG_B64}` } },
    toolDefinition: (b) => b.tools[0],
    toolResult: (b) => b.messages.at(-1),
    expectedToolResult: { role: "tool", tool_call_id: "call_w1", content: '{"temp_c":21}' },
  },
  {
    type: "bedrock",
    secret: AWS.secretAccessKey,
    async start() {
      const fake = await startFakeBedrock("bedrock", AWS);
      const provider = {
        name: "bedrock",
        type: "bedrock",
        base_url: fake.origin,
        region: "us-east-1",
        aws_access_key_id: AWS.accessKeyId,
        aws_secret_access_key: AWS.secretAccessKey,
        models: { m: "anthropic.claude-3-5-haiku-20241022-v1:0" },
      };
      return { fake, provider };
    },
    auth: (r) => [String(r.headers.authorization).split(" Credential=")[0], "AWS4-HMAC-SHA256"],
    system: (b) => b.system,
    image: (b) => b.messages[0].content[1],
    expectedImage: { image: { format: "png", source: { bytes: PNG_B64 } } },
    toolDefinition: (b) => b.toolConfig.tools[0],
    toolResult: (b) => b.messages.at(-1),
    expectedToolResult: { role: "user", content: [{ toolResult: { toolUseId: "call_w1", content: [{ json: { temp_c: 21 } }] } }] },
  },
];

export const WEATHER_TOOL = { name: "get_weather", description: "Weather now", parameters: WEATHER_SCHEMA };

/** Each wire format's tool definition for WEATHER_TOOL. */
export const EXPECTED_TOOL_DEFINITION: Record<string, unknown> = {
  openai: { type: "function", function: WEATHER_TOOL },
  azure: { type: "function", function: WEATHER_TOOL },
  anthropic: { name: "get_weather", description: "Weather now", input_schema: WEATHER_SCHEMA },
  gemini: { name: "get_weather", description: "Weather now", parametersJsonSchema: WEATHER_SCHEMA },
  ollama: { type: "function", function: WEATHER_TOOL },
  cohere: { type: "function", function: WEATHER_TOOL },
  bedrock: { toolSpec: { name: "get_weather", description: "Weather now", inputSchema: { json: WEATHER_SCHEMA } } },
};

export const EXPECTED_SYSTEM: Record<string, unknown> = {
  openai: { role: "system", content: "Be terse." },
  azure: { role: "system", content: "Be terse." },
  anthropic: [{ type: "text", text: "Be terse." }],
  gemini: { parts: [{ text: "Be terse." }] },
  ollama: { role: "system", content: "Be terse." },
  cohere: { role: "system", content: "Be terse." },
  bedrock: [{ text: "Be terse." }],
};
