import { repeatsRequest } from "./idempotent-start.js";
import type { JobError, JobMessage, JobRow, JobStatus, Progress } from "./job.js";
import type { NotificationTarget } from "./notifications.js";
import { isOwnedBy } from "./owner-scope.js";
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
  /** Completion webhook targets, all `pending` with no attempts. */
  readonly notifications?: readonly NotificationTarget[];
}

export interface CreateOutcome {
  readonly job: JobRow;
  /** False when an idempotent start found the job a previous call created. */
  readonly created: boolean;
}

export type ClaimOutcome =
  | { readonly claimed: true; readonly job: JobRow }
  | { readonly claimed: false; readonly job: JobRow | undefined };

/** The run that holds a job: the attempt its claim made and the claim's token. */
export interface LeaseFence {
  readonly attempt: number;
  readonly token: string;
}

/** The row `job` describes: a create tried again after its first try took effect finds it. */
export function isSameJob(row: JobRow, job: NewJob): boolean {
  return row.id === job.id && isOwnedBy(row, job.owner) && repeatsRequest(row, job.inputHash);
}

/** A running row that the claim holding `token` took: a claim's earlier try that took effect. */
export function isOwnClaim(row: JobRow, token: string): boolean {
  return row.status === "running" && row.claimToken === token;
}

/** What the worker records once a submit/check job's external work is under way. */
export interface SubmittedWork {
  readonly stateJson: string;
  /** Epoch milliseconds. */
  readonly nextCheckAt: number;
  /** Epoch milliseconds. */
  readonly deadlineAt: number;
}

/** What one pending check records; `checkSeq` moves on by one. */
export interface PendingCheck {
  /** Absent: the stored state stays. */
  readonly stateJson?: string;
  readonly progress?: Progress;
  readonly estimatedCompletion?: string;
  /** Epoch milliseconds. */
  readonly nextCheckAt: number;
}

/** The check a write belongs to: the row's `checkSeq` and the attempt that owns the job. */
export interface CheckFence {
  readonly check: number;
  readonly attempt: number;
}

export interface ListQuery {
  readonly status?: JobStatus;
  readonly limit: number;
  readonly cursor?: string;
}

export interface JobPage {
  readonly jobs: JobRow[];
  readonly nextCursor?: string;
}

/*
 * The job table, split by consumer: the tools' use cases, the worker, and the caller quotas each
 * depend on the port they use, and one adapter may serve them all (`JobStore`). Every state change
 * is conditional, so stale writers lose instead of overwriting.
 *
 * Writing another store? `test/contract/job-store.contract.ts` is the checklist: it states every
 * rule below as a test, and an adapter is done when it passes (DynamoDB and in-memory both do).
 */

/** What the tools and the worker both read. */
export interface JobLookup {
  /** Consistent read; a missing or expired row (`expiresAt <= now`) reads as undefined. */
  get(id: string): Promise<JobRow | undefined>;
}

/** Ends an open job whoever holds it: the worker, the dead-letter settler, a start whose enqueue failed. */
export interface OpenJobFailer {
  /** queued or running → failed; otherwise (ended, expired, unknown) a `JobStateConflictError`. */
  failOpen(id: string, error: JobError): Promise<JobRow>;
}

/** What the dead-letter settler needs: end an open job, and call its `cancel(state)` once, retrying a failed call a bounded number of times. */
export interface DeadLetterJobStore extends JobLookup, OpenJobFailer {
  /** As `JobRunStore.markCancelCalled`: one marker fences every caller of `cancel(state)`. */
  markCancelCalled(id: string): Promise<boolean>;
  /**
   * After the marked call failed: counts the failure and gives the marker back, so one more call may
   * be marked, unless `maxCalls` calls have now failed (then the marker stays and this is false).
   */
  releaseFailedCancel(id: string, maxCalls: number): Promise<boolean>;
}

/** What the tools' use cases need. Owner scoping: another owner's job reads like an unknown id. */
export interface JobToolStore extends JobLookup, OpenJobFailer {
  /** Creates the row, or with an idempotency key returns the job that key already started. */
  create(job: NewJob): Promise<CreateOutcome>;
  /** The live job an owner's idempotency key started, if any. */
  findByIdempotencyKey(owner: string, idempotencyKey: string): Promise<JobRow | undefined>;
  /** queued or running → cancelled, only for the owner; an ended job is returned unchanged. */
  cancel(id: string, owner: string): Promise<JobRow>;
  /** Newest first; `nextCursor` is opaque and only valid for the same owner. */
  listByOwner(owner: string, query: ListQuery): Promise<JobPage>;
}

/** What the worker needs: every write is fenced by the status and the attempt of the run that owns the job. */
export interface JobRunStore extends JobLookup, OpenJobFailer {
  /**
   * queued → running, or a running job whose lease expired → running with attempt + 1. A submitted
   * submit/check job is never claimed again: only its check messages move it on. With `token`, the
   * claim writes it; a claim that loses its condition to a running row holding the same token
   * (an earlier try of this same claim took effect) answers claimed with that row.
   */
  claim(id: string, leaseMs: number, token?: string): Promise<ClaimOutcome>;
  /**
   * Holds a submitted job for check number `check` (its lease must have lapsed); attempt unchanged.
   * `token` as for `claim`.
   */
  claimCheck(id: string, check: number, leaseMs: number, token?: string): Promise<ClaimOutcome>;
  /**
   * Writes the row of a start whose own write never landed, from its message (with its idempotency
   * record, as `create` would). Answers the row when it exists (written now or before), or
   * undefined when the job cannot exist: its idempotency key names another job, or another row
   * has its id.
   */
  adopt(job: NewJob): Promise<JobRow | undefined>;
  /**
   * Extends the lease of the run `fence` names to now + `leaseMs`; claimed false (with the row)
   * when the job is no longer that run's: ended, cancelled, taken over, expired or unknown.
   */
  renewLease(id: string, fence: LeaseFence, leaseMs: number): Promise<ClaimOutcome>;
  /** Stores the state after a submit, sets `checkSeq` to 1 and gives up the lease. */
  recordSubmit(id: string, attempt: number, work: SubmittedWork): Promise<JobRow>;
  /** Records a pending check and moves `checkSeq` on by one, giving up the lease. */
  recordCheck(id: string, fence: CheckFence, pending: PendingCheck): Promise<JobRow>;
  /** After a check failed transiently: attempt + 1, `lastError`, lease given up; state and `checkSeq` stay. */
  retryCheck(id: string, fence: CheckFence, error: JobError): Promise<JobRow>;
  /** Marks an ended job's `cancel(state)` as called; false when some delivery marked it already. */
  markCancelCalled(id: string): Promise<boolean>;
  /** Moves progress forward for the run that owns the job; false when the write lost its condition. */
  progress(id: string, attempt: number, progress: Progress): Promise<boolean>;
  /** With `check`, only check number `check` of a submit/check job may write. */
  complete(id: string, attempt: number, resultJson: string, check?: number): Promise<JobRow>;
  /** Completes the run with a result kept in the result store, recording where it is. */
  completeWithResultRef(id: string, attempt: number, ref: ResultRef, check?: number): Promise<JobRow>;
  fail(id: string, attempt: number, error: JobError, check?: number): Promise<JobRow>;
  /** Gives up the lease after a transient failure so that the next delivery may claim the job. */
  releaseForRetry(id: string, attempt: number, error: JobError): Promise<JobRow>;
}

/** The per-caller limits a start checks. */
export interface CallerQuotaStore {
  /** Queued and running jobs of this owner that have not expired, up to `atMost`. */
  countActive(owner: string, atMost: number): Promise<number>;
  /**
   * Counts one start in the owner's calendar minute of `atMs` (default: now) unless `limit` starts
   * are counted there already.
   */
  tryRecordStart(owner: string, limit: number, atMs?: number): Promise<boolean>;
  /** Takes back one start counted in the minute of `atMs`: a start that another check refused. */
  releaseStart(owner: string, atMs: number): Promise<void>;
}

/** Every port over the job table: what an adapter implements and each function's composition hands out. */
export interface JobStore extends JobToolStore, JobRunStore, CallerQuotaStore, DeadLetterJobStore {}

export interface JobQueue {
  /** `delaySeconds` (0–900): SQS hands the message out no earlier than that. */
  send(message: JobMessage, options?: { readonly delaySeconds?: number }): Promise<void>;
}

/** Delays the redelivery of a message that failed transiently (the retry backoff). */
export interface RetryScheduler {
  retryAfter(receiptHandle: string, delaySeconds: number): Promise<void>;
}

// Completion webhooks and MCP Events: their ports live in notification-ports.ts.
export * from "./notification-ports.js";
