/**
 * A @grpc/grpc-js client for LLMPool built from the generated descriptors (no proto loader):
 * the interop check that a stock gRPC stack talks to our one-port server.
 */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { LLMPool } from "../../gen/llmpool/v1/llmpool_pb.js";

function codec<T extends DescMessage>(schema: T) {
  return {
    serialize: (m: MessageShape<T>) => Buffer.from(toBinary(schema, m)),
    deserialize: (b: Buffer) => fromBinary(schema, b),
  };
}

export function createGrpcJsClient(address: string) {
  const definition: Record<string, grpc.MethodDefinition<any, any>> = {};
  for (const m of LLMPool.methods) {
    const req = codec(m.input);
    const res = codec(m.output);
    definition[m.name] = {
      path: `/${LLMPool.typeName}/${m.name}`,
      requestStream: false,
      responseStream: m.methodKind === "server_streaming",
      requestSerialize: req.serialize as (v: unknown) => Buffer,
      requestDeserialize: req.deserialize,
      responseSerialize: res.serialize as (v: unknown) => Buffer,
      responseDeserialize: res.deserialize,
    };
  }
  const Ctor = grpc.makeGenericClientConstructor(definition, "LLMPool");
  const client = new Ctor(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Function>;

  return {
    client,
    unary<I extends DescMessage, O extends DescMessage>(
      method: string,
      input: I,
      _output: O,
      init: MessageInitShape<I>,
      options: { deadlineMs?: number; metadata?: Record<string, string> } = {},
    ): Promise<MessageShape<O>> {
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(options.metadata ?? {})) md.set(k, v);
      const callOpts: grpc.CallOptions = options.deadlineMs ? { deadline: Date.now() + options.deadlineMs } : {};
      return new Promise((resolve, reject) => {
        client[method]!(create(input, init), md, callOpts, (err: grpc.ServiceError | null, res: MessageShape<O>) =>
          err ? reject(err) : resolve(res),
        );
      });
    },
    stream<I extends DescMessage, O extends DescMessage>(method: string, input: I, _output: O, init: MessageInitShape<I>) {
      return client[method]!(create(input, init)) as grpc.ClientReadableStream<MessageShape<O>>;
    },
    close: () => client.close(),
  };
}
