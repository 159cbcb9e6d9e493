/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha), so `grpcurl list` and
 * `buf curl --reflect` work with no proto file at hand. A small bidi handler over the
 * descriptors protoc-gen-es embeds in the generated code.
 */
import { toBinary, type DescFile, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1Alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** Descriptor lookups over a set of files (and their imports). */
export class DescriptorIndex {
  private readonly files = new Map<string, DescFile>();
  private readonly bySymbol = new Map<string, DescFile>();
  private readonly encoded = new Map<string, Uint8Array>();
  readonly services: string[] = [];

  constructor(files: readonly DescFile[], services: readonly string[]) {
    for (const f of files) this.add(f);
    this.services = [...services];
  }

  private add(file: DescFile): void {
    if (this.files.has(file.proto.name)) return;
    this.files.set(file.proto.name, file);
    for (const dep of file.dependencies) this.add(dep);
    const addMessage = (m: DescMessage) => {
      this.bySymbol.set(m.typeName, file);
      for (const n of m.nestedMessages) addMessage(n);
      for (const e of m.nestedEnums) this.bySymbol.set(e.typeName, file);
      for (const x of m.nestedExtensions) this.bySymbol.set(x.typeName, file);
    };
    for (const m of file.messages) addMessage(m);
    for (const e of file.enums) this.bySymbol.set(e.typeName, file);
    for (const x of file.extensions) this.bySymbol.set(x.typeName, file);
    for (const s of file.services) {
      this.bySymbol.set(s.typeName, file);
      for (const m of s.methods) this.bySymbol.set(`${s.typeName}.${m.name}`, file);
    }
  }

  fileBySymbol(symbol: string): DescFile | undefined {
    const name = symbol.startsWith(".") ? symbol.slice(1) : symbol;
    const direct = this.bySymbol.get(name);
    if (direct) return direct;
    // A field or enum value: look up its parent.
    const dot = name.lastIndexOf(".");
    return dot > 0 ? this.bySymbol.get(name.slice(0, dot)) : undefined;
  }

  fileByName(name: string): DescFile | undefined {
    return this.files.get(name);
  }

  /** The file and everything it imports, encoded, the file itself first. */
  encodeWithDeps(file: DescFile): Uint8Array[] {
    const out: Uint8Array[] = [];
    const seen = new Set<string>();
    const visit = (f: DescFile) => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      let bytes = this.encoded.get(f.proto.name);
      if (!bytes) {
        bytes = toBinary(FileDescriptorProtoSchema, f.proto);
        this.encoded.set(f.proto.name, bytes);
      }
      out.push(bytes);
      for (const d of f.dependencies) visit(d);
    };
    visit(file);
    return out;
  }
}

type Request = {
  host: string;
  messageRequest:
    | { case: "fileByFilename"; value: string }
    | { case: "fileContainingSymbol"; value: string }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: "allExtensionNumbersOfType"; value: string }
    | { case: "listServices"; value: string }
    | { case: undefined; value?: undefined };
};

function respond(index: DescriptorIndex, req: Request) {
  const base = { validHost: req.host, originalRequest: req as never };
  const notFound = (what: string) => ({
    ...base,
    messageResponse: {
      case: "errorResponse" as const,
      value: { errorCode: Code.NotFound, errorMessage: `${what} not found` },
    },
  });
  const files = (file: DescFile | undefined, what: string) =>
    file
      ? {
          ...base,
          messageResponse: {
            case: "fileDescriptorResponse" as const,
            value: { fileDescriptorProto: index.encodeWithDeps(file) },
          },
        }
      : notFound(what);
  const r = req.messageRequest;
  switch (r.case) {
    case "listServices":
      return {
        ...base,
        messageResponse: {
          case: "listServicesResponse" as const,
          value: { service: index.services.map((name) => ({ name })) },
        },
      };
    case "fileByFilename":
      return files(index.fileByName(r.value), `file ${JSON.stringify(r.value)}`);
    case "fileContainingSymbol":
      return files(index.fileBySymbol(r.value), `symbol ${JSON.stringify(r.value)}`);
    case "fileContainingExtension":
      return notFound(`extension ${r.value.extensionNumber} of ${JSON.stringify(r.value.containingType)}`);
    case "allExtensionNumbersOfType": {
      const file = index.fileBySymbol(r.value);
      if (!file) return notFound(`type ${JSON.stringify(r.value)}`);
      return {
        ...base,
        messageResponse: {
          case: "allExtensionNumbersResponse" as const,
          value: { baseTypeName: r.value, extensionNumber: [] },
        },
      };
    }
    default:
      return {
        ...base,
        messageResponse: {
          case: "errorResponse" as const,
          value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" },
        },
      };
  }
}

export function registerReflection(router: ConnectRouter, index: DescriptorIndex): void {
  const impl = {
    async *serverReflectionInfo(requests: AsyncIterable<Request>) {
      for await (const req of requests) yield respond(index, req);
    },
  };
  router.service(ReflectionV1, impl as unknown as ServiceImpl<typeof ReflectionV1>);
  router.service(ReflectionV1Alpha, impl as unknown as ServiceImpl<typeof ReflectionV1Alpha>);
}
