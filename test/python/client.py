"""A Python grpcio client for llmpool, as a Python team would write it.

Stubs are generated from proto/llmpool/v1/llmpool.proto with protoc and grpc_python_plugin
(see the README). Usage: client.py STUBS_DIR HOST:PORT
"""
import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from google.protobuf import struct_pb2  # noqa: E402
from llmpool.v1 import llmpool_pb2, llmpool_pb2_grpc  # noqa: E402

target = sys.argv[2]
out = {}
with grpc.insecure_channel(target) as channel:
    stub = llmpool_pb2_grpc.LLMPoolStub(channel)
    req = llmpool_pb2.ChatRequest(
        messages=[llmpool_pb2.Message(role="user", content="hello from python")],
        temperature=0.5,
        metadata={"tenant": "py-team"},
    )
    res = stub.Chat(req, timeout=10, metadata=[("x-request-id", "py-1")])
    out["chat"] = {
        "content": res.message.content,
        "provider": res.provider,
        "finish_reason": res.finish_reason,
        "request_id": res.request_id,
        "total_tokens": res.usage.total_tokens,
    }
    out["stream"] = "".join(c.delta for c in stub.StreamChat(req, timeout=10))
    params = struct_pb2.Struct()
    params.update({"type": "object", "properties": {"q": {"type": "string"}}})
    tool_req = llmpool_pb2.ChatRequest(
        messages=[llmpool_pb2.Message(role="user", content="tools")],
        tools=[llmpool_pb2.Tool(name="search", description="search", parameters=params)],
    )
    try:
        stub.Chat(tool_req, timeout=10)
        out["tools"] = "ok"
    except grpc.RpcError as e:
        out["tools"] = e.code().name
    try:
        stub.Chat(llmpool_pb2.ChatRequest(messages=[]), timeout=10)
    except grpc.RpcError as e:
        out["error"] = {"code": e.code().name, "details": e.details()}
    try:
        stub.Chat(llmpool_pb2.ChatRequest(model="nope", messages=[llmpool_pb2.Message(role="user", content="x")]), timeout=10)
    except grpc.RpcError as e:
        out["not_found"] = {"code": e.code().name, "details": e.details()}
    emb = stub.Embed(llmpool_pb2.EmbedRequest(model="mock-embed", inputs=["a", "bb"], dimensions=3), timeout=10)
    out["embed"] = {
        "count": len(emb.embeddings),
        "dims": [len(e.values) for e in emb.embeddings],
        "provider": emb.provider,
        "prompt_tokens": emb.usage.prompt_tokens,
    }
    try:
        stub.Embed(llmpool_pb2.EmbedRequest(model="mock-embed", inputs=[]), timeout=10)
    except grpc.RpcError as e:
        out["embed_error"] = {"code": e.code().name, "details": e.details()}
    out["models"] = [[m.name, m.kind] for m in stub.ListModels(llmpool_pb2.ListModelsRequest()).models]
    out["health"] = stub.Health(llmpool_pb2.HealthRequest()).status
print(json.dumps(out))
