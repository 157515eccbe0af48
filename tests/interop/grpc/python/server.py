"""grpcio Echo server for the interop test: prints `PORT <n>` when ready and `EVENT <name>` lines."""
import sys
import time
from concurrent import futures

import grpc

from echo_pb import OPTIONS, SERVICE, Msg


def event(name):
    print("EVENT " + name, flush=True)


def unary(req, ctx):
    md = dict(ctx.invocation_metadata())
    ctx.send_initial_metadata((("x-echo-in", md.get("x-in", "")),))
    ctx.set_trailing_metadata((("x-trailer", "py"),))
    if req.text == "fail":
        ctx.abort(grpc.StatusCode.NOT_FOUND, "not here: ünïcode")
    return Msg(text=req.text, n=req.n + 1, blob=req.blob)


def server_stream(req, ctx):
    for i in range(req.n):
        yield Msg(text=req.text, n=i)


def client_stream(reqs, ctx):
    return Msg(text="".join(r.text for r in reqs))


def bidi(reqs, ctx):
    for r in reqs:
        yield Msg(text=r.text + "!")


def slow(req, ctx):
    deadline = time.time() + 10
    while ctx.is_active() and time.time() < deadline:
        time.sleep(0.01)
    if not ctx.is_active():
        event("slow-cancelled")
    return Msg(text="late")


def main():
    handler = grpc.method_handlers_generic_handler(SERVICE, {
        "Unary": grpc.unary_unary_rpc_method_handler(unary, Msg.FromString, Msg.SerializeToString),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream, Msg.FromString, Msg.SerializeToString),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream, Msg.FromString, Msg.SerializeToString),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi, Msg.FromString, Msg.SerializeToString),
        "Slow": grpc.unary_unary_rpc_method_handler(slow, Msg.FromString, Msg.SerializeToString),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=OPTIONS)
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print("PORT %d" % port, flush=True)
    sys.stdin.read()  # runs until the test closes stdin
    server.stop(0)


if __name__ == "__main__":
    main()
