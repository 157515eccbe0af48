"""grpcio client for the interop test: runs every scenario against ADDR and prints one JSON object."""
import json
import sys
import threading
import time

import grpc

from echo_pb import OPTIONS, SERVICE, Msg


def main(addr):
    ch = grpc.insecure_channel(addr, options=OPTIONS)
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


if __name__ == "__main__":
    main(sys.argv[1])
