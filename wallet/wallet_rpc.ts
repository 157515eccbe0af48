/**
 * The bytes-in/bytes-out face of {@linkcode WalletService}: protobuf decoding and encoding of
 * `ghostchain.wallet.v1.WalletService` (schema {@linkcode WALLET_PROTO}, loaded with protobufjs from the
 * embedded text, never from a file), with size limits checked before decoding. A transport (the bridge) calls
 * the returned {@linkcode WalletCallHandler} with a method name and the request message bytes and sends back
 * the response bytes, or the status of the {@linkcode WalletServiceError} it throws.
 *
 * @module
 */

import protobuf from "protobufjs";
import { WalletServiceError, type WalletStatusName } from "./errors.ts";
import { WALLET_PROTO } from "./wallet_proto.ts";
import { DEFAULT_WALLET_MAX_MESSAGE_BYTES } from "./limits.ts";

export { DEFAULT_WALLET_MAX_MESSAGE_BYTES };
import { toWalletServiceError, type WalletService } from "./wallet_service.ts";

/** The fully qualified service name (the bridge registers the handler under it). */
export const WALLET_SERVICE_NAME = "ghostchain.wallet.v1.WalletService";

/** The methods of the service, in schema order. */
export const WALLET_METHODS = [
  "CreateWallet",
  "Unlock",
  "Lock",
  "CreateAccount",
  "ImportAccount",
  "ListAccounts",
  "SignTransaction",
  "SignMessage",
  "VerifyMessage",
  "GetBalance",
  "CreateMultisig",
  "SignMultisig",
  "CombineMultisig",
  "VerifyMultisig",
] as const;

/** A method name. */
export type WalletMethod = (typeof WALLET_METHODS)[number];

/** `(method, requestBytes) => responseBytes`; throws {@linkcode WalletServiceError}. */
export type WalletCallHandler = (method: string, requestBytes: Uint8Array) => Promise<Uint8Array>;

/** Options of {@linkcode createWalletCallHandler}. */
export interface WalletRpcOptions {
  /** Largest request accepted, checked before decoding. Default {@linkcode DEFAULT_WALLET_MAX_MESSAGE_BYTES}. */
  readonly maxRequestBytes?: number;
  /** Largest response sent. Default {@linkcode DEFAULT_WALLET_MAX_MESSAGE_BYTES}. */
  readonly maxResponseBytes?: number;
  /** Called once per call with the method (or `"unknown"`) and the status name (metrics). */
  readonly onCall?: (method: string, status: WalletStatusName | "OK") => void;
}

interface Codec {
  readonly request: protobuf.Type;
  readonly response: protobuf.Type;
}

let codecs: ReadonlyMap<string, Codec> | undefined;

/** The protobufjs reflection of the schema, built once from the embedded text. */
export function walletProtoRoot(): protobuf.Root {
  return protobuf.parse(WALLET_PROTO).root;
}

function walletCodecs(): ReadonlyMap<string, Codec> {
  if (codecs !== undefined) return codecs;
  const root = walletProtoRoot();
  const service = root.lookupService(WALLET_SERVICE_NAME);
  const map = new Map<string, Codec>();
  for (const name of WALLET_METHODS) {
    const m = service.methods[name];
    if (m === undefined) throw new TypeError(`Cannot load wallet.proto: method ${name} is missing`);
    map.set(name, { request: root.lookupType(m.requestType), response: root.lookupType(m.responseType) });
  }
  codecs = map;
  return map;
}

/** Decodes a request message of `method` into the plain object the service takes (enums as names). */
export function decodeWalletRequest(method: WalletMethod, bytes: Uint8Array): Record<string, unknown> {
  const codec = walletCodecs().get(method);
  if (codec === undefined) throw new WalletServiceError("UNIMPLEMENTED", `Unknown wallet method ${method}`);
  let message: protobuf.Message;
  try {
    message = codec.request.decode(bytes);
  } catch (cause) {
    throw new WalletServiceError(
      "INVALID_ARGUMENT",
      `Cannot decode ${method} request: not a valid protobuf message`,
      {
        cause,
      },
    );
  }
  return codec.request.toObject(message, { defaults: true, enums: String, longs: String, arrays: true });
}

/** Encodes a response (or request, with `kind`) object of `method`. */
export function encodeWalletMessage(
  method: WalletMethod,
  kind: "request" | "response",
  value: Record<string, unknown>,
): Uint8Array {
  const codec = walletCodecs().get(method);
  if (codec === undefined) throw new WalletServiceError("UNIMPLEMENTED", `Unknown wallet method ${method}`);
  const type = kind === "request" ? codec.request : codec.response;
  return type.encode(type.fromObject(value)).finish();
}

/** Decodes a response message (clients and tests). */
export function decodeWalletResponse(method: WalletMethod, bytes: Uint8Array): Record<string, unknown> {
  const codec = walletCodecs().get(method);
  if (codec === undefined) throw new WalletServiceError("UNIMPLEMENTED", `Unknown wallet method ${method}`);
  return codec.response.toObject(codec.response.decode(bytes), {
    defaults: true,
    enums: String,
    longs: String,
    arrays: true,
  });
}

function isWalletMethod(name: string): name is WalletMethod {
  return (WALLET_METHODS as readonly string[]).includes(name);
}

/** `Method`, or the method of `/ghostchain.wallet.v1.WalletService/Method`. */
function methodName(method: string): string {
  const prefix = `/${WALLET_SERVICE_NAME}/`;
  return method.startsWith(prefix) ? method.slice(prefix.length) : method;
}

// The request objects come from protobufjs decoding against the schema, so their fields have the schema's
// types; the service still checks every field's run-time type before use (it is also called directly).
// deno-lint-ignore no-explicit-any
type AnyRequest = any;

function dispatch(service: WalletService, method: WalletMethod, req: AnyRequest): Promise<object> {
  switch (method) {
    case "CreateWallet":
      return service.createWallet(req);
    case "Unlock":
      return service.unlock(req);
    case "Lock":
      return service.lock(req);
    case "CreateAccount":
      return service.createAccount(req);
    case "ImportAccount":
      return service.importAccount(req);
    case "ListAccounts":
      return service.listAccounts(req);
    case "SignTransaction":
      return service.signTransaction(req);
    case "SignMessage":
      return service.signMessage(req);
    case "VerifyMessage":
      return service.verifyMessage(req);
    case "GetBalance":
      return service.getBalance(req);
    case "CreateMultisig":
      return service.createMultisig(req);
    case "SignMultisig":
      return service.signMultisig(req);
    case "CombineMultisig":
      return service.combineMultisig(req);
    case "VerifyMultisig":
      return service.verifyMultisig(req);
  }
}

/**
 * The dispatcher the bridge registers: decodes the request of `method` (bare, or `/package.Service/Method`),
 * calls the service, encodes the response. Requests over the limit are RESOURCE_EXHAUSTED before decoding;
 * undecodable ones INVALID_ARGUMENT; unknown methods UNIMPLEMENTED; other failures the service's status.
 *
 * @example
 * ```ts
 * const handleWalletCall = createWalletCallHandler(service);
 * const bytes = await handleWalletCall("ListAccounts", encodeWalletMessage("ListAccounts", "request", {}));
 * ```
 */
export function createWalletCallHandler(
  service: WalletService,
  options: WalletRpcOptions = {},
): WalletCallHandler {
  const maxIn = options.maxRequestBytes ?? DEFAULT_WALLET_MAX_MESSAGE_BYTES;
  const maxOut = options.maxResponseBytes ?? DEFAULT_WALLET_MAX_MESSAGE_BYTES;
  return async function handleWalletCall(method: string, requestBytes: Uint8Array): Promise<Uint8Array> {
    const name = methodName(method);
    const label = isWalletMethod(name) ? name : "unknown";
    try {
      if (!isWalletMethod(name)) {
        throw new WalletServiceError("UNIMPLEMENTED", `Unknown wallet method ${name.slice(0, 64)}`);
      }
      if (requestBytes.length > maxIn) {
        throw new WalletServiceError(
          "RESOURCE_EXHAUSTED",
          `Cannot accept ${name} request: ${requestBytes.length} bytes exceed ${maxIn}`,
        );
      }
      const req = decodeWalletRequest(name, requestBytes);
      const res = await dispatch(service, name, req);
      let out: Uint8Array;
      try {
        out = encodeWalletMessage(name, "response", { ...res });
      } catch (cause) {
        throw new WalletServiceError("INTERNAL", "Internal wallet error", { cause });
      }
      if (out.length > maxOut) {
        throw new WalletServiceError(
          "RESOURCE_EXHAUSTED",
          `Cannot send ${name} response: ${out.length} bytes exceed ${maxOut}`,
        );
      }
      options.onCall?.(label, "OK");
      return out;
    } catch (error) {
      const e = toWalletServiceError(error);
      options.onCall?.(label, e.status);
      throw e;
    }
  };
}
