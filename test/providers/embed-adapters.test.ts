/**
 * Every adapter's `embed()` through a real llmpool's Embed RPC, against its fake upstream:
 * the wire request each sends and the vectors it maps back.
 */
import { describe, expect, it } from "vitest";
import { startFakeAzure } from "../helpers/fake-azure.js";
import { startFakeBedrock } from "../helpers/fake-bedrock.js";
import { startFakeCohere } from "../helpers/fake-cohere.js";
import { fakeVector } from "../helpers/fake-embeddings.js";
import { startFakeGemini } from "../helpers/fake-gemini.js";
import type { Fake } from "../helpers/fake-upstream.js";
import { harness } from "../helpers/harness.js";

const h = harness();
const AWS = { accessKeyId: "AKIDEXAMPLE0123456789", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };

async function embedVia(f: Fake, provider: Record<string, unknown>, inputs: string[], dimensions?: number) {
  h.cleanup.push(() => f.close());
  const { upstream, ...rest } = provider;
  const s = await h.serve({ providers: [{ name: f.name, embedding_models: { emb: upstream }, ...rest }] });
  return s.connect.embed({ model: "emb", inputs, dimensions });
}

describe("embed() per adapter", () => {
  it("gemini: batchEmbedContents with outputDimensionality", async () => {
    const f = await startFakeGemini("gem");
    const res = await embedVia(f, { type: "gemini", base_url: `${f.origin}/v1beta`, api_key: "gem-key-0123456789", upstream: "text-embedding-004" }, ["a", "bc"], 3);
    expect(res.embeddings.map((e) => e.values)).toEqual([fakeVector("gem", "a", 3), fakeVector("gem", "bc", 3)]);
    const rec = f.requests.find((r) => r.path.endsWith(":batchEmbedContents"))!;
    expect(rec.path).toBe("/v1beta/models/text-embedding-004:batchEmbedContents");
    expect(rec.body.requests[1]).toEqual({ model: "models/text-embedding-004", content: { parts: [{ text: "bc" }] }, outputDimensionality: 3 });
    expect(res.usage?.estimated).toBe(true);
  });

  it("cohere: /v2/embed with float embedding types and billed tokens", async () => {
    const f = await startFakeCohere("co");
    const res = await embedVia(f, { type: "cohere", base_url: f.origin, api_key: "co-key-0123456789", upstream: "embed-v4.0" }, ["a", "bc"]);
    expect(res.embeddings.map((e) => e.values)).toEqual([fakeVector("co", "a"), fakeVector("co", "bc")]);
    expect(f.requests.find((r) => r.path === "/v2/embed")!.body).toEqual({ model: "embed-v4.0", texts: ["a", "bc"], input_type: "search_document", embedding_types: ["float"] });
    expect(res.usage).toMatchObject({ promptTokens: 4, estimated: false });
  });

  it("azure: the deployment's embeddings path with api-version", async () => {
    const f = await startFakeAzure("az", "azure-key-0123456789", ["emb-deploy"]);
    h.cleanup.push(() => f.close());
    const s = await h.serve({
      providers: [{ name: "az", type: "azure", base_url: f.origin, api_key: "azure-key-0123456789", embedding_models: { emb: "text-embedding-3-small" }, deployments: { "text-embedding-3-small": "emb-deploy" } }],
    });
    const res = await s.connect.embed({ model: "emb", inputs: ["a", "bc"] });
    expect(res.embeddings.map((e) => e.values)).toEqual([fakeVector("az", "a"), fakeVector("az", "bc")]);
    expect(res.usage?.promptTokens).toBe(7);
    const rec = f.requests.find((r) => r.path.includes("/embeddings"))!;
    expect(rec.path).toMatch(/^\/openai\/deployments\/emb-deploy\/embeddings\?api-version=/);
    expect(rec.headers["api-key"]).toBe("azure-key-0123456789");
  });

  it("bedrock: Titan (one InvokeModel per input) and Cohere (one for all), SigV4-signed", async () => {
    const f = await startFakeBedrock("br", AWS, "eu-west-1");
    const aws = { type: "bedrock", base_url: f.origin, region: "eu-west-1", aws_access_key_id: AWS.accessKeyId, aws_secret_access_key: AWS.secretAccessKey };
    const titan = await embedVia(f, { ...aws, upstream: "amazon.titan-embed-text-v2:0" }, ["a", "bc"], 4);
    expect(titan.embeddings.map((e) => e.values)).toEqual([fakeVector("br", "a"), fakeVector("br", "bc")]);
    expect(titan.usage).toMatchObject({ promptTokens: 6, estimated: false });
    const invokes = f.requests.filter((r) => r.path.endsWith("/invoke"));
    expect(invokes.map((r) => r.path)).toEqual(["/model/amazon.titan-embed-text-v2%3A0/invoke", "/model/amazon.titan-embed-text-v2%3A0/invoke"]);
    expect(invokes.map((r) => r.body.inputText).sort()).toEqual(["a", "bc"]);
    const f2 = await startFakeBedrock("br2", AWS, "eu-west-1");
    const cohere = await embedVia(f2, { ...aws, base_url: f2.origin, upstream: "cohere.embed-english-v3" }, ["a", "bc"]);
    expect(cohere.embeddings.map((e) => e.values)).toEqual([fakeVector("br2", "a"), fakeVector("br2", "bc")]);
    expect(f2.requests.filter((r) => r.path.endsWith("/invoke")).length).toBe(1);
  });

  it("config: embedding_models on a type without an embeddings API is an error naming the path", async () => {
    const err = await h.serve({ providers: [{ name: "c", type: "anthropic", api_key: "sk-ant-0123456789", models: ["x"], embedding_models: ["e"] }] }).catch((e) => e);
    expect(String(err.message)).toContain("providers[0].embedding_models");
    expect(String(err.message)).toContain("type anthropic offers no embeddings API");
  });
});
