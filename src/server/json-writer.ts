/**
 * Proto3 JSON for response messages, written straight from the service's init-shape objects.
 * protobuf-es's route is create() (a zero message, then every field copied), reflect(), a JSON
 * object built field by field, then JSON.stringify: ~5 KB allocated and 3.4% of a Connect JSON
 * call's CPU (bench/RESULTS.md "Second pass"). This writes the same text
 * in one pass over a field table compiled once per message type.
 *
 * Same output as `toJsonString(schema, create(schema, init))` with default options: fields in
 * field-number order under their JSON names; implicit-presence zero values omitted; set
 * oneof members and explicit-presence fields written even when zero; 64-bit integers as
 * strings, bytes as base64, NaN and the infinities as strings, enums by name. A message type
 * that reaches a map or a well-known type (they have JSON forms of their own) is not compiled:
 * compileJsonWriter() returns undefined and the caller keeps protobuf-es (test/json-writer.test.ts
 * compares both on generated messages).
 */
import { ScalarType, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";

const IMPLICIT = 2; // FieldPresence.IMPLICIT

interface FieldPlan {
  /** `"jsonName":`, written before the value. */
  readonly key: string;
  readonly local: string;
  /** The oneof's local name when the field is a member of one. */
  readonly oneof?: string;
  readonly implicit: boolean;
  readonly list: boolean;
  readonly scalar?: ScalarType;
  readonly enumDesc?: DescEnum;
  readonly message?: MessagePlan;
}

interface MessagePlan {
  fields: FieldPlan[];
}

export type JsonWriter = (init: object) => string;

/** A writer for `schema`'s JSON, or undefined when it reaches a shape this does not write. */
export function compileJsonWriter(schema: DescMessage): JsonWriter | undefined {
  const plan = compile(schema, new Map());
  if (!plan) return undefined;
  return (init) => writeMessage(plan, init as Record<string, unknown>);
}

/** Well-known types (and their enums) have JSON forms of their own: not compiled. */
const wellKnown = (typeName: string) => typeName.startsWith("google.protobuf.");

function compile(d: DescMessage, seen: Map<string, MessagePlan>): MessagePlan | undefined {
  if (wellKnown(d.typeName)) return undefined;
  const known = seen.get(d.typeName);
  if (known) return known;
  const plan: MessagePlan = { fields: [] };
  seen.set(d.typeName, plan);
  for (const f of [...d.fields].sort((a, b) => a.number - b.number)) {
    const p = fieldPlan(f, seen);
    if (!p) return undefined;
    plan.fields.push(p);
  }
  return plan;
}

function fieldPlan(f: DescField, seen: Map<string, MessagePlan>): FieldPlan | undefined {
  if (f.fieldKind === "map") return undefined;
  const base = { key: `${JSON.stringify(f.jsonName)}:`, local: f.localName, oneof: f.oneof?.localName, implicit: f.presence === IMPLICIT, list: f.fieldKind === "list" };
  if (f.scalar !== undefined) return { ...base, scalar: f.scalar };
  if (f.enum) return wellKnown(f.enum.typeName) ? undefined : { ...base, enumDesc: f.enum };
  const message = compile(f.message!, seen);
  return message && { ...base, message };
}

function writeMessage(plan: MessagePlan, m: Record<string, unknown>): string {
  let out = "{";
  const fields = plan.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    let v: unknown;
    if (f.oneof !== undefined) {
      const o = m[f.oneof] as { case?: string; value?: unknown } | undefined;
      if (o === undefined || o.case !== f.local) continue;
      v = o.value;
    } else {
      v = m[f.local];
      if (v === undefined || v === null) continue;
      if (f.list) {
        if ((v as unknown[]).length === 0) continue;
      } else if (f.implicit && f.message === undefined && isZero(f, v)) continue;
    }
    out += (out.length === 1 ? "" : ",") + f.key + (f.list ? writeList(f, v as unknown[]) : writeValue(f, v));
  }
  return out + "}";
}

function writeList(f: FieldPlan, items: unknown[]): string {
  let out = "[";
  for (let i = 0; i < items.length; i++) out += (i === 0 ? "" : ",") + writeValue(f, items[i]);
  return out + "]";
}

function writeValue(f: FieldPlan, v: unknown): string {
  if (f.message !== undefined) return writeMessage(f.message, v as Record<string, unknown>);
  if (f.enumDesc !== undefined) {
    const name = f.enumDesc.value[v as number]?.name;
    return name === undefined ? String(v) : JSON.stringify(name);
  }
  switch (f.scalar) {
    case ScalarType.STRING:
      return JSON.stringify(v);
    case ScalarType.BOOL:
      return v ? "true" : "false";
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT: {
      const n = v as number;
      if (Number.isFinite(n)) return JSON.stringify(n);
      return Number.isNaN(n) ? '"NaN"' : n > 0 ? '"Infinity"' : '"-Infinity"';
    }
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return `"${String(v)}"`;
    case ScalarType.BYTES:
      return `"${Buffer.from(v as Uint8Array).toString("base64")}"`;
    default:
      return JSON.stringify(v);
  }
}

/** protobuf-es's implicit-presence test (reflect/unsafe.js, reflect/scalar.js). */
function isZero(f: FieldPlan, v: unknown): boolean {
  if (f.enumDesc !== undefined) return v === f.enumDesc.values[0]!.number;
  switch (f.scalar) {
    case ScalarType.STRING:
      return v === "";
    case ScalarType.BOOL:
      return v === false;
    case ScalarType.BYTES:
      return v instanceof Uint8Array && v.byteLength === 0;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return Object.is(v, 0); // -0 is written
    default:
      return v == 0; // 0, 0n and "0"
  }
}
