import type { JobError, JobMessage, JobRow, JobStatus, Progress } from "./job.js";
import type { ResultRef } from "./results.js";

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface NewJob {
  readonly id: string;
  readonly type: string;
  readonly owner: string;
  readonly inputJson: string;
  readonly inputHash: string;
  readonly idempotencyKey?: string;
  readonly maxAttempts: number;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

export interface CreateOutcome {
  readonly job: JobRow;
  /** False when an idempotent start found the job a previous call created. */
  readonly created: boolean;
}

export type ClaimOutcome =
  | { readonly claimed: true; readonly job: JobRow }
  | { readonly claimed: false; readonly job: JobRow | undefined };

export interface ListQuery {
  readonly status?: JobStatus;
  readonly limit: number;
  readonly cursor?: string;
}

export interface JobPage {
  readonly jobs: JobRow[];
  readonly nextCursor?: string;
}

/** The job table. Every state change is conditional, so stale writers lose instead of overwriting. */
export interface JobStore {
  /** Creates the row, or with an idempotency key returns the job that key already started. */
  create(job: NewJob): Promise<CreateOutcome>;
  /** The live job an owner's idempotency key started, if any. */
  findByIdempotencyKey(owner: string, idempotencyKey: string): Promise<JobRow | undefined>;
  /** Consistent read; a missing or expired row reads as undefined. */
  get(id: string): Promise<JobRow | undefined>;
  /** queued → running, or a running job whose lease expired → running with attempt + 1. */
  claim(id: string, leaseMs: number): Promise<ClaimOutcome>;
  /** Moves progress forward for the run that owns the job; false when the write lost its condition. */
  progress(id: string, attempt: number, progress: Progress): Promise<boolean>;
  complete(id: string, attempt: number, resultJson: string): Promise<JobRow>;
  /** Completes the run with a result kept in the result store, recording where it is. */
  completeWithResultRef(id: string, attempt: number, ref: ResultRef): Promise<JobRow>;
  fail(id: string, attempt: number, error: JobError): Promise<JobRow>;
  /** Fails a job that is still queued or running, whoever runs it (dead letters, failed enqueues). */
  failOpen(id: string, error: JobError): Promise<JobRow>;
  /** Gives up the lease after a transient failure so that the next delivery may claim the job. */
  releaseForRetry(id: string, attempt: number, error: JobError): Promise<JobRow>;
  /** queued or running → cancelled, only for the owner. */
  cancel(id: string, owner: string): Promise<JobRow>;
  listByOwner(owner: string, query: ListQuery): Promise<JobPage>;
  /** Lets a new start reuse the key (after its job could not be queued). */
  releaseIdempotencyKey(owner: string, idempotencyKey: string): Promise<void>;
  /** Queued and running jobs of this owner, up to `atMost`. */
  countActive(owner: string, atMost: number): Promise<number>;
  /** Counts one start in the owner's current minute unless `limit` starts are counted already. */
  tryRecordStart(owner: string, limit: number): Promise<boolean>;
}

export interface JobQueue {
  send(message: JobMessage): Promise<void>;
}

/** Delays the redelivery of a message that failed transiently (the retry backoff). */
export interface RetryScheduler {
  retryAfter(receiptHandle: string, delaySeconds: number): Promise<void>;
}
