import { IdempotencyConflictError } from "./errors.js";
import { epochSeconds, type JobRow } from "./job.js";
import { isOwnedBy } from "./owner-scope.js";

/** What an owner's idempotency key holds while it lives: the job it started and that start's input hash. */
export interface IdempotencyRecord {
  readonly jobId: string;
  readonly inputHash: string;
  /** Epoch seconds, the job's own `expiresAt`. */
  readonly expiresAt: number;
}

/**
 * An expired record no longer holds its key, whether or not DynamoDB's TTL has deleted it yet. One
 * whose expiry does not read as a number holds it, as the create's condition on the record reads it.
 */
export function holdsKey(record: IdempotencyRecord, atMs: number): boolean {
  return !(record.expiresAt <= epochSeconds(atMs));
}

/**
 * Whether a start repeats the request an idempotency key holds: the same input hash (job type,
 * canonical input and callback URL). A repeat answers the earlier job; anything else is a conflict.
 */
export function repeatsRequest(held: Pick<IdempotencyRecord, "inputHash">, inputHash: string): boolean {
  return held.inputHash === inputHash;
}

/**
 * The job a start answers when its idempotency key is held already: the job the key's record
 * names, when the start repeats that request and the job is the caller's. Otherwise the key is in
 * use for another request: an `IdempotencyConflictError` (a start with other input reads no job).
 */
export async function jobOfRepeatedStart(
  start: Pick<JobRow, "owner" | "inputHash"> & { readonly idempotencyKey: string },
  record: IdempotencyRecord | undefined,
  read: (jobId: string) => Promise<JobRow | undefined>,
): Promise<JobRow> {
  const earlier = record && repeatsRequest(record, start.inputHash) ? await read(record.jobId) : undefined;
  if (!isOwnedBy(earlier, start.owner)) throw new IdempotencyConflictError(start.idempotencyKey);
  return earlier;
}
