/**
 * The Amazon Bedrock adapter (`type: bedrock`): Converse and ConverseStream on
 * `bedrock-runtime.{region}.amazonaws.com`, signed with SigV4 (the `aws4` library), the
 * stream decoded from AWS event-stream frames. Model discovery and probes use the control
 * plane (`bedrock.{region}.amazonaws.com`: foundation models and inference profiles).
 *
 * Credentials, first found wins: `api_key` (a Bedrock API key, sent as a bearer token),
 * `aws_access_key_id` + `aws_secret_access_key` (+ `aws_session_token`), then the environment
 * (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_BEARER_TOKEN_BEDROCK).
 * Region: `region`, then AWS_REGION, then AWS_DEFAULT_REGION.
 */
import aws4 from "aws4";
import type { ProviderConfig } from "../../config/schema.js";
import type { ConfigProblem } from "../../config/interpolate.js";
import { registerSecret } from "../../util/redact.js";
import { HttpAdapter, type ModelPage } from "../http-adapter.js";
import { header, type HttpUpstream } from "../http.js";
import { trimmedPrefill } from "../messages.js";
import { pipeStream } from "../stream.js";
import type { ChatResult, EmbedCall, EmbedResult, Provider, ProviderCapabilities, StreamEvent, UpstreamCall } from "../../core/provider.js";
import { buildBedrockBody } from "./request.js";
import { bedrockEmbed } from "./embed.js";
import { bedrockErrorOf, bedrockResult, bedrockStream, type ConverseResponse } from "./response.js";

/** SigV4 signing name of both bedrock-runtime and the bedrock control plane. */
const SERVICE = "bedrock";

/**
 * Images are bytes only in Converse (or S3 locations, which llmpool does not use). Converse
 * continues a trailing assistant message (its documented way to prefill a response).
 */
const CAPABILITIES: ProviderCapabilities = { vision: true, tools: true, contextWindow: 0, imageUrls: false, prefill: true };

export type BedrockAuth =
  | { kind: "sigv4"; accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  | { kind: "bearer"; token: string };

export interface BedrockSettings {
  region?: string;
  auth?: BedrockAuth;
}

/** Region and credentials from the config, else the standard AWS environment variables. */
export function resolveBedrock(cfg: ProviderConfig, env: NodeJS.ProcessEnv = process.env): BedrockSettings {
  const region = cfg.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  let auth: BedrockAuth | undefined;
  if (cfg.api_key) auth = { kind: "bearer", token: cfg.api_key };
  else if (cfg.aws_access_key_id && cfg.aws_secret_access_key) {
    auth = { kind: "sigv4", accessKeyId: cfg.aws_access_key_id, secretAccessKey: cfg.aws_secret_access_key, sessionToken: cfg.aws_session_token };
  } else if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    auth = { kind: "sigv4", accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined };
  } else if (env.AWS_BEARER_TOKEN_BEDROCK) auth = { kind: "bearer", token: env.AWS_BEARER_TOKEN_BEDROCK };
  return { region, auth };
}

const FOUNDATION_MODELS = "/foundation-models?byOutputModality=TEXT&byInferenceType=ON_DEMAND";

export class BedrockProvider extends HttpAdapter {
  readonly type = "bedrock";
  private readonly region: string;
  private readonly auth: BedrockAuth;
  private readonly extraHeaders: Record<string, string>;

  constructor(cfg: ProviderConfig, env: NodeJS.ProcessEnv = process.env) {
    const { region, auth } = resolveBedrock(cfg, env);
    // validate() guarantees both; this guards direct construction.
    if (!region || !auth) throw new Error(`provider ${cfg.name}: bedrock needs a region and credentials`);
    // Every header is part of the signature, so the fixed set is empty and each request signs its own.
    super({
      cfg,
      defaultBaseUrl: `https://bedrock-runtime.${region}.amazonaws.com`,
      headers: {},
      capabilities: CAPABILITIES,
      io: { extract: bedrockErrorOf, rateLimit: () => undefined },
      notFoundHint: "base_url should be the bedrock endpoint root, or unset to use the region's",
    });
    this.region = region;
    this.auth = auth;
    if (auth.kind === "sigv4") {
      registerSecret(auth.secretAccessKey);
      registerSecret(auth.sessionToken);
    } else registerSecret(auth.token);
    this.extraHeaders = { ...cfg.headers };
    // A base_url (proxy, VPC endpoint, test double) serves both planes.
    this.control = this.open(cfg.base_url ?? `https://bedrock.${region}.amazonaws.com`, {}, 2);
  }

  /** Headers for one request: SigV4 over method, path, query, host, date and body hash. */
  signedHeaders(up: HttpUpstream, method: string, path: string, body: string | undefined): Record<string, string> {
    const headers: Record<string, string> = { ...this.extraHeaders, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.auth.kind === "bearer") {
      headers.authorization = `Bearer ${this.auth.token}`;
      return headers;
    }
    const req = { host: new URL(up.origin).host, path: up.basePath + path, method, service: SERVICE, region: this.region, headers, body };
    aws4.sign(req, { accessKeyId: this.auth.accessKeyId, secretAccessKey: this.auth.secretAccessKey, sessionToken: this.auth.sessionToken });
    // aws4 adds Host, X-Amz-Date, X-Amz-Security-Token, Content-Length (a number), Authorization.
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) out[k] = String(v);
    return out;
  }

  protected override requestHeaders(up: HttpUpstream, method: string, path: string, body: string | undefined): Record<string, string> {
    return this.signedHeaders(up, method, path, body);
  }

  private path(model: string, op: "converse" | "converse-stream"): string {
    return `/model/${encodeURIComponent(model)}/${op}`;
  }

  async chat(call: UpstreamCall): Promise<ChatResult> {
    const prefill = trimmedPrefill(call.prefill);
    const body = buildBedrockBody(call.request, this.name, prefill);
    const { res, rateLimit } = await this.send("POST", this.path(call.model, "converse"), body, call.signal);
    const j = await this.json<ConverseResponse>(res, call.signal);
    return bedrockResult(j, header(res, "x-amzn-requestid") ?? "", call.model, rateLimit, prefill);
  }

  /** Titan or Cohere embedding models through InvokeModel (embed.ts). */
  async embed(call: EmbedCall): Promise<EmbedResult> {
    const out = await bedrockEmbed(this.name, call, async (model, body, signal) => {
      const { res } = await this.send("POST", `/model/${encodeURIComponent(model)}/invoke`, body, signal);
      return this.json<unknown>(res, signal);
    });
    return { ...out, model: call.model };
  }

  async *stream(call: UpstreamCall): AsyncGenerator<StreamEvent> {
    const prefill = trimmedPrefill(call.prefill);
    const body = buildBedrockBody(call.request, this.name, prefill);
    const { res, rateLimit } = await this.send("POST", this.path(call.model, "converse-stream"), body, call.signal);
    const ctx = { ...this.streamContext(rateLimit), id: header(res, "x-amzn-requestid") ?? "" };
    yield* pipeStream(this.name, res, call.signal, bedrockStream(res.body, ctx, call.model, prefill));
  }

  /** A signed control-plane read: checks reachability, region and credentials without tokens. */
  protected probePath(): string {
    return FOUNDATION_MODELS;
  }

  protected modelsPath(): string {
    return FOUNDATION_MODELS;
  }

  protected readModels(body: unknown): ModelPage {
    return { ids: ((body as { modelSummaries?: { modelId: string }[] }).modelSummaries ?? []).map((m) => m.modelId) };
  }

  /** On-demand text models, then inference profiles (which newer models require). */
  override async listModels(signal: AbortSignal): Promise<string[]> {
    const out = await super.listModels(signal);
    try {
      const ip = await this.getJson<{ inferenceProfileSummaries?: { inferenceProfileId: string }[] }>("/inference-profiles?maxResults=1000", signal);
      for (const p of ip.inferenceProfileSummaries ?? []) out.push(p.inferenceProfileId);
    } catch {
      // Listing profiles needs its own IAM permission; foundation models are enough.
    }
    return out;
  }

  /** Opens the runtime connection (TLS included); the unsigned answer is discarded. */
  override async warmup(signal: AbortSignal): Promise<void> {
    await this.http.warmup("/", signal);
  }
}

export const bedrockAdapter = {
  validate(cfg: ProviderConfig): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const { region, auth } = resolveBedrock(cfg);
    if (!region) problems.push({ path: "region", message: "required for type bedrock (or set AWS_REGION)" });
    if (cfg.aws_access_key_id && !cfg.aws_secret_access_key) {
      problems.push({ path: "aws_secret_access_key", message: "required with aws_access_key_id" });
    } else if (cfg.aws_secret_access_key && !cfg.aws_access_key_id) {
      problems.push({ path: "aws_access_key_id", message: "required with aws_secret_access_key" });
    } else if (cfg.aws_session_token && !cfg.aws_access_key_id) {
      problems.push({ path: "aws_session_token", message: "only with aws_access_key_id and aws_secret_access_key" });
    } else if (!auth) {
      problems.push({
        path: "aws_access_key_id",
        message: "no credentials: set aws_access_key_id and aws_secret_access_key (or api_key), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
      });
    }
    return problems;
  },
  create: (cfg: ProviderConfig): Provider => new BedrockProvider(cfg),
};
