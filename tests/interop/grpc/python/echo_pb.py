"""interop.Msg built at run time from a descriptor (the same fields as ../echo.proto), so no protoc is needed."""
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_fdp = descriptor_pb2.FileDescriptorProto(name="echo.proto", package="interop", syntax="proto3")
_m = _fdp.message_type.add(name="Msg")
_m.field.add(name="text", number=1, type=9, label=1)  # string
_m.field.add(name="n", number=2, type=5, label=1)  # int32
_m.field.add(name="blob", number=3, type=12, label=1)  # bytes
_pool = descriptor_pool.DescriptorPool()
_pool.Add(_fdp)
_desc = _pool.FindMessageTypeByName("interop.Msg")
if hasattr(message_factory, "GetMessageClass"):
    Msg = message_factory.GetMessageClass(_desc)
else:
    Msg = message_factory.MessageFactory(_pool).GetPrototype(_desc)

SERVICE = "interop.Echo"
OPTIONS = [("grpc.max_receive_message_length", 16 << 20), ("grpc.max_send_message_length", 16 << 20)]
