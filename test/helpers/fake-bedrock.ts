/**
 * A fake Amazon Bedrock (runtime and control plane on one port): Converse, ConverseStream in
 * AWS event-stream framing (encoded with the AWS SDK's own codec, @smithy/core), foundation
 * models and inference profiles. Every request must carry a valid SigV4 signature: the fake
 * recomputes it from the request and the known secret, as AWS does, and answers 403
 * InvalidSignatureException / UnrecognizedClientException like AWS when it does not match.
 */
import { fakeVector } from "./fake-embeddings.js";
import { createHash, createHmac } from "node:crypto";
import { EventStreamCodec } from "@smithy/core/event-streams";
import { piecesOf, startFake, streamPieces, type Fake, type Recorded } from "./fake-upstream.js";

export interface AwsKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const codec = new EventStreamCodec(
  (b: Uint8Array) => Buffer.from(b).toString("utf8"),
  (s: string) => new Uint8Array(Buffer.from(s, "utf8")),
);

/** One event-stream frame, as Bedrock sends it. */
export function eventFrame(eventType: string, payload: unknown, messageType: "event" | "exception" = "event"): Uint8Array {
  const headers: Record<string, { type: "string"; value: string }> = {
    ":message-type": { type: "string", value: messageType },
    ":content-type": { type: "string", value: "application/json" },
  };
  headers[messageType === "event" ? ":event-type" : ":exception-type"] = { type: "string", value: eventType };
  return codec.encode({ headers, body: new Uint8Array(Buffer.from(JSON.stringify(payload))) });
}

const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
const hmac = (key: string | Buffer, s: string) => createHmac("sha256", key).update(s, "utf8").digest();

/**
 * Verify a SigV4 Authorization header (AWS docs, "Create a signed AWS API request"): rebuild the
 * canonical request from what arrived, derive the signing key from the secret, compare.
 */
export function verifySigV4(rec: Recorded, keys: AwsKeys, region: string, service: string): string | undefined {
  const auth = String(rec.headers.authorization ?? "");
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return "UnrecognizedClientException";
  const [, akid, date, reg, svc, signedList, signature] = m;
  if (akid !== keys.accessKeyId) return "UnrecognizedClientException";
  if (reg !== region || svc !== service) return "InvalidSignatureException";
  const amzDate = String(rec.headers["x-amz-date"] ?? "");
  if (!amzDate.startsWith(date!)) return "InvalidSignatureException";
  if (keys.sessionToken && rec.headers["x-amz-security-token"] !== keys.sessionToken) return "UnrecognizedClientException";
  const signed = signedList!.split(";");
  for (const h of ["host", "x-amz-date"]) if (!signed.includes(h)) return "InvalidSignatureException";
  const [rawPath, rawQuery = ""] = rec.path.split("?");
  // Non-S3 services encode each path segment once more.
  const canonicalUri = rawPath!.split("/").map((seg) => rfc3986(seg)).join("/");
  const canonicalQuery = rawQuery
    ? rawQuery
        .split("&")
        .map((kv) => kv.split("=").map((x) => rfc3986(decodeURIComponent(x))) as [string, string])
        .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
        .map(([k, v]) => `${k}=${v ?? ""}`)
        .join("&")
    : "";
  const canonicalHeaders = signed.map((h) => `${h}:${String(rec.headers[h] ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  const canonical = [rec.method, canonicalUri, canonicalQuery, canonicalHeaders, signedList, sha256(rec.raw)].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${keys.secretAccessKey}`, date!), region), service), "aws4_request");
  return hmac(key, toSign).toString("hex") === signature ? undefined : "InvalidSignatureException";
}

const CHAT = /^\/model\/([^/]+)\/(converse|converse-stream)$/;

export async function startFakeBedrock(name: string, keys: AwsKeys, region = "us-east-1", models = ["anthropic.claude-3-5-haiku-20241022-v1:0"]): Promise<Fake> {
  return startFake({
    name,
    isChat: (r) => r.method === "POST" && CHAT.test(r.path),
    gate(rec, ctx) {
      const bad = String(rec.headers.authorization ?? "").startsWith("Bearer ")
        ? rec.headers.authorization === `Bearer ${keys.secretAccessKey}`
          ? undefined
          : "UnrecognizedClientException"
        : verifySigV4(rec, keys, region, "bedrock");
      if (!bad) return false;
      const message =
        bad === "UnrecognizedClientException"
          ? "The security token included in the request is invalid."
          : "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.";
      ctx.json(403, { message }, { "x-amzn-errortype": `${bad}:http://internal.amazon.com/coral/com.amazon.coral.service/` });
      return true;
    },
    other(rec, ctx) {
      const invoke = /^\/model\/([^/]+)\/invoke$/.exec(rec.path);
      if (rec.method === "POST" && invoke) {
        const model = decodeURIComponent(invoke[1]!);
        if (model.startsWith("amazon.titan-embed")) ctx.json(200, { embedding: fakeVector(name, rec.body.inputText, rec.body.dimensions), inputTextTokenCount: 3 });
        else if (model.startsWith("cohere.embed")) ctx.json(200, { id: "e1", embeddings: { float: rec.body.texts.map((t: string) => fakeVector(name, t)) }, texts: rec.body.texts, response_type: "embeddings_by_type" });
        else ctx.json(400, { message: `model ${model} does not support InvokeModel embeddings` });
        return true;
      }
      if (rec.method === "GET" && rec.path.startsWith("/foundation-models")) {
        ctx.json(200, { modelSummaries: models.map((modelId) => ({ modelId, modelArn: `arn:aws:bedrock:${region}::foundation-model/${modelId}`, inferenceTypesSupported: ["ON_DEMAND"] })) });
        return true;
      }
      if (rec.method === "GET" && rec.path.startsWith("/inference-profiles")) {
        ctx.json(200, { inferenceProfileSummaries: [{ inferenceProfileId: `us.${models[0]}`, type: "SYSTEM_DEFINED", status: "ACTIVE" }] });
        return true;
      }
      return false;
    },
    async render(rec, s, res, ctx) {
      const [, , op] = CHAT.exec(rec.path)!;
      const reply = s.reply ?? `Hello from ${name}`;
      const u = s.usage ?? { prompt: 10, completion: reply.split(" ").length };
      const usage = {
        inputTokens: u.prompt - (u.cached ?? 0),
        outputTokens: u.completion,
        totalTokens: u.prompt + u.completion,
        ...(u.cached ? { cacheReadInputTokens: u.cached, cacheWriteInputTokens: 0 } : {}),
      };
      const stopReason = s.finish ?? (s.toolCalls ? "tool_use" : "end_turn");
      res.setHeader("x-amzn-requestid", `req-${name}-${ctx.n}`);
      const tools = (s.toolCalls ?? []).map((t) => ({ toolUse: { toolUseId: t.id, name: t.name, input: JSON.parse(t.arguments) } }));
      if (op === "converse") {
        const content = [...(s.toolCalls && !s.reply ? [] : [{ text: reply }]), ...tools];
        ctx.json(200, { output: { message: { role: "assistant", content } }, stopReason, usage, metrics: { latencyMs: 42 } });
        return;
      }
      res.setHeader("content-type", "application/vnd.amazon.eventstream");
      res.flushHeaders();
      const send = (type: string, payload: unknown) => res.write(eventFrame(type, { ...(payload as object), p: "abcdefghij" }));
      send("messageStart", { role: "assistant" });
      let block = 0;
      if (!s.toolCalls || s.reply !== undefined) {
        const ok = await streamPieces(
          s,
          piecesOf(s, reply),
          res,
          ctx,
          (p) => send("contentBlockDelta", { contentBlockIndex: 0, delta: { text: p } }),
          () => res.write(eventFrame("throttlingException", { message: "Too many tokens, please wait before trying again." }, "exception")),
        );
        if (!ok) return;
        send("contentBlockStop", { contentBlockIndex: 0 });
        block = 1;
      }
      for (const t of s.toolCalls ?? []) {
        send("contentBlockStart", { contentBlockIndex: block, start: { toolUse: { toolUseId: t.id, name: t.name } } });
        const half = Math.ceil(t.arguments.length / 2);
        for (const part of [t.arguments.slice(0, half), t.arguments.slice(half)]) {
          send("contentBlockDelta", { contentBlockIndex: block, delta: { toolUse: { input: part } } });
        }
        send("contentBlockStop", { contentBlockIndex: block });
        block++;
      }
      send("messageStop", { stopReason });
      send("metadata", { usage, metrics: { latencyMs: 42 } });
      res.end();
    },
  });
}
