/**
 * The job table's physical layout, and the limits of the queue and the rows around it. The CDK
 * constructs and the local emulator harness both create the table and queues from these, and the
 * adapters and the worker read and write by them.
 */
export const JOB_TABLE = {
  partitionKey: "id",
  ttlAttribute: "expiresAt",
  /** Every job of an owner, newest first (list_jobs). */
  ownerIndex: { name: "byOwner", partitionKey: "owner", sortKey: "createdAt" },
  /**
   * Sparse: only queued and running jobs carry `activeOwner` (per-caller active-job limit). It holds
   * the TTL attribute too, so that a job that expired while still open is not counted.
   */
  activeIndex: {
    name: "activeByOwner",
    partitionKey: "activeOwner",
    sortKey: "createdAt",
    projectedAttributes: ["expiresAt"],
  },
} as const;

/** Receives per message before SQS moves it to the dead-letter queue (the queue's redrive policy). */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;

/**
 * Seconds a worker invocation may run (Lambda's maximum, so a 10-minute external call fits); the
 * queue's visibility timeout is six times this. Retries do not wait for it: the worker sets each
 * retry's delay itself.
 */
export const DEFAULT_WORKER_TIMEOUT_SECONDS = 900;

/**
 * Bytes of JSON a job result may take inline in its row. Its ceiling keeps every tool answer under
 * MAX_ANSWER_CHARS (a get_job answer carries the inline result plus the job's other fields), and far
 * below DynamoDB's 400 KB item limit. Larger results go to the results bucket.
 */
export const RESULT_INLINE_BYTES = { default: 16_000, max: 16_000 } as const;

/** Bytes of JSON a job result may take at all (in the results bucket); larger ones fail `result_too_large`. */
export const DEFAULT_RESULT_MAX_BYTES = 10_000_000;
export const MAX_RESULT_MAX_BYTES = 100_000_000;

/** No tool answer's text passes this many characters (hosted agents cap what one tool answer may hold). */
export const MAX_ANSWER_CHARS = 20_000;
