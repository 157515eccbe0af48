"""grpcio client for the interop test: runs every scenario against ADDR and prints one JSON object."""
import json
import os
import sys
import threading
import time

import grpc

from echo_pb import OPTIONS, SERVICE, Msg


def channel(addr):
    """A TLS channel when GRPC_CA names a CA file (a proxy with the dev certificate), else cleartext."""
    ca = os.environ.get("GRPC_CA")
    if not ca:
        return grpc.insecure_channel(addr, options=OPTIONS)
    with open(ca, "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    return grpc.secure_channel(addr, creds, options=list(OPTIONS) + [("grpc.ssl_target_name_override", "localhost")])


def main(addr):
    ch = channel(addr)
    grpc.channel_ready_future(ch).result(timeout=10)
    p = "/" + SERVICE + "/"
    ser, de = Msg.SerializeToString, Msg.FromString
    unary = ch.unary_unary(p + "Unary", request_serializer=ser, response_deserializer=de)
    sstream = ch.unary_stream(p + "ServerStream", request_serializer=ser, response_deserializer=de)
    cstream = ch.stream_unary(p + "ClientStream", request_serializer=ser, response_deserializer=de)
    bidi = ch.stream_stream(p + "Bidi", request_serializer=ser, response_deserializer=de)
    slow = ch.unary_unary(p + "Slow", request_serializer=ser, response_deserializer=de)
    out = {}

    resp, call = unary.with_call(Msg(text="hello", n=41), metadata=(("x-in", "from-py"),), timeout=10)
    out["unary"] = {
        "text": resp.text, "n": resp.n,
        "header": dict(call.initial_metadata()).get("x-echo-in"),
        "trailer": dict(call.trailing_metadata()).get("x-trailer"),
    }
    out["server_stream"] = [m.n for m in sstream(Msg(text="s", n=3), timeout=10)]
    out["client_stream"] = cstream(iter([Msg(text="a"), Msg(text="b"), Msg(text="c")]), timeout=10).text
    out["bidi"] = [m.text for m in bidi(iter([Msg(text="x"), Msg(text="y")]), timeout=10)]
    try:
        unary(Msg(text="fail"), timeout=10)
        out["error"] = None
    except grpc.RpcError as e:
        out["error"] = {"code": e.code().name, "details": e.details()}
    big = bytes(range(256)) * (4 * 1024 * 1024 // 256)
    r = unary(Msg(text="big", blob=big), timeout=30)
    out["big"] = len(r.blob) == len(big) and r.blob == big
    t0 = time.time()
    try:
        slow(Msg(text="slow"), timeout=0.3)
        out["deadline"] = None
    except grpc.RpcError as e:
        out["deadline"] = {"code": e.code().name, "seconds": round(time.time() - t0, 2)}
    fut = slow.future(Msg(text="slow"), timeout=10)
    time.sleep(0.3)
    fut.cancel()
    try:
        fut.result()
        out["cancel"] = None
    except grpc.FutureCancelledError:
        out["cancel"] = {"code": "CANCELLED"}
    except grpc.RpcError as e:
        out["cancel"] = {"code": e.code().name}
    print(json.dumps(out), flush=True)


def streams(addr, count, n, workers=16):
    """`count` server streams of `n` messages each; prints how many were short, out of order, or failed."""
    ch = channel(addr)
    grpc.channel_ready_future(ch).result(timeout=10)
    sstream = ch.unary_stream("/" + SERVICE + "/ServerStream", request_serializer=Msg.SerializeToString,
                              response_deserializer=Msg.FromString)
    result = {"streams": 0, "truncated": 0, "out_of_order": 0, "failed": 0, "messages": 0}
    lock = threading.Lock()
    todo = list(range(count))

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                todo.pop()
            try:
                got = [m.n for m in sstream(Msg(text="s", n=n), timeout=30)]
                with lock:
                    result["streams"] += 1
                    result["messages"] += len(got)
                    if len(got) != n:
                        result["truncated"] += 1
                    elif got != list(range(n)):
                        result["out_of_order"] += 1
            except grpc.RpcError:
                with lock:
                    result["failed"] += 1

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "streams":
        streams(sys.argv[1], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main(sys.argv[1])
