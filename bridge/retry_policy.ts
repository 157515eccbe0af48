/**
 * When a failed attempt may be retried on another instance (README "Failover"). Pure: it reads fields, never
 * message text.
 *
 * The rule: never after any response bytes (headers, a message or a status from the application) went back to
 * the caller, and never when the request messages sent so far are no longer buffered for replay. Within that, a
 * retry is allowed when the target says the request was not processed (STATUS with NOT_PROCESSED: no instance,
 * instance unreachable, stream refused), or when the attempt failed underneath (connection lost, stream cut)
 * and the call is marked idempotent. At most `maxAttempts` attempts, each on an instance not tried yet.
 *
 * @module
 */

/** What is known about a failed attempt. */
export interface AttemptOutcome {
  /** A response head or message was already delivered to the caller. */
  readonly responseDelivered: boolean;
  /** Every request message sent so far is still buffered (and the half-close is known). */
  readonly replayable: boolean;
  /** The target reported it never handed the request to an application. */
  readonly notProcessed: boolean;
  /** The attempt failed underneath rather than with an application status. */
  readonly transportFailure: boolean;
  /** The caller marked the call idempotent. */
  readonly idempotent: boolean;
  /** Attempts made so far, this one included. */
  readonly attempts: number;
  /** Most attempts allowed. */
  readonly maxAttempts: number;
}

/** True when another attempt is allowed. */
export function mayRetry(o: AttemptOutcome): boolean {
  if (o.attempts >= o.maxAttempts) return false;
  if (o.responseDelivered || !o.replayable) return false;
  if (o.notProcessed) return true;
  return o.transportFailure && o.idempotent;
}
