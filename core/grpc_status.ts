/**
 * gRPC status codes (the registry of grpc/grpc `doc/statuscodes.md`): the one copy every service uses, whether
 * it speaks gRPC itself (bridge) or only maps its errors onto it (chain, wallet).
 *
 * @module
 */

/** gRPC status codes by name. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status name, e.g. `"UNAVAILABLE"`. */
export type GrpcStatusName = keyof typeof GrpcStatus;

/** A gRPC status code value. Codes received from peers may be any u8, so fields use `number`. */
export type GrpcStatusCode = number;

const STATUS_NAMES: ReadonlyMap<number, GrpcStatusName> = new Map(
  (Object.entries(GrpcStatus) as [GrpcStatusName, number][]).map(([name, value]) => [value, name]),
);

/** The name of a known gRPC status code, or `undefined`. */
export function knownGrpcStatusName(code: number): GrpcStatusName | undefined {
  return STATUS_NAMES.get(code);
}

/** The name of a gRPC status code, e.g. `"UNAVAILABLE"`, or `"CODE_<n>"` for unknown ones. */
export function grpcStatusName(code: number): string {
  return STATUS_NAMES.get(code) ?? `CODE_${code}`;
}
