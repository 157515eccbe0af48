// Loads interop.Echo from ../echo.proto with @grpc/proto-loader.
"use strict";
const path = require("node:path");
const grpc = require("@grpc/grpc-js");
const loader = require("@grpc/proto-loader");

const def = loader.loadSync(path.join(__dirname, "..", "echo.proto"), {
  keepCase: true,
  longs: Number,
  defaults: true,
});
const Echo = grpc.loadPackageDefinition(def).interop.Echo;
const OPTIONS = { "grpc.max_receive_message_length": 16 << 20, "grpc.max_send_message_length": 16 << 20 };
module.exports = { grpc, Echo, OPTIONS };
