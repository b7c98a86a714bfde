import * as z from "zod";
import { JobErrorSchema } from "./errors.js";
import { NotificationTargetSchema, NotificationViewSchema, toNotificationView } from "./notifications.js";
import { ResultRefSchema } from "./results.js";

export const JOB_STATUSES = ["queued", "running", "completed", "failed", "cancelled"] as const;
export const JobStatusSchema = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof JobStatusSchema>;

export const TERMINAL_STATUSES: readonly JobStatus[] = ["completed", "failed", "cancelled"];
export const ACTIVE_STATUSES: readonly JobStatus[] = ["queued", "running"];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export { type JobError, JobErrorSchema } from "./errors.js";

export const ProgressSchema = z.object({
  current: z.number().finite().nonnegative(),
  total: z.number().finite().positive().optional(),
  message: z.string().max(500).optional(),
});
export type Progress = z.infer<typeof ProgressSchema>;

const isoTimestamp = z.iso.datetime({ offset: true });

/**
 * Bytes of JSON a submit/check job's state may take in its row. Generous for an external id and a
 * few URLs; large enough that a simulated service may keep a whole 10 000-character query there;
 * small beside DynamoDB's 400 KB item limit next to the input and an inline result.
 */
export const JOB_STATE_MAX_BYTES = 65_536;

/** A job row exactly as the DynamoDB adapter stores it; parsed on every read. */
export const JobRowSchema = z.object({
  id: z.uuid(),
  type: z.string().min(1),
  owner: z.string().min(1),
  status: JobStatusSchema,
  /** The validated tool input, as JSON. */
  inputJson: z.string(),
  /** SHA-256 of the job type and its canonical input, compared by idempotent starts. */
  inputHash: z.string(),
  idempotencyKey: z.string().optional(),
  /** Number of runs claimed so far; the owner of a running job is the run with this number. */
  attempt: z.number().int().nonnegative(),
  maxAttempts: z.number().int().positive(),
  /** Epoch milliseconds until which the current run holds the job; a live run renews it. */
  leaseExpiresAt: z.number().int().nonnegative().optional(),
  /**
   * Random per claim: written by the claim that holds the lease, so the delivery that made it knows
   * its own claim (also one its client gave up on that took effect later) and only that run renews
   * the lease. Never shown to callers.
   */
  claimToken: z.string().min(1).max(100).optional(),
  progress: ProgressSchema.optional(),
  resultJson: z.string().optional(),
  /** Set instead of `resultJson` when the result went to the result store. */
  resultRef: ResultRefSchema.optional(),
  error: JobErrorSchema.optional(),
  /** The failure of the previous run while a retry is pending. */
  lastError: JobErrorSchema.optional(),
  createdAt: isoTimestamp,
  updatedAt: isoTimestamp,
  startedAt: isoTimestamp.optional(),
  finishedAt: isoTimestamp.optional(),
  /** Epoch seconds; DynamoDB's TTL attribute. */
  expiresAt: z.number().int().positive(),
  // Submit/check jobs only (see jobs/job-type.ts): what the worker keeps between checks.
  /** The job type's state (external id, URLs) as JSON, at most JOB_STATE_MAX_BYTES; never shown to callers. */
  stateJson: z.string().max(JOB_STATE_MAX_BYTES).optional(),
  /**
   * The number of the next check: only the check message carrying it may write, so duplicate,
   * stale and out-of-order check messages change nothing. Present once the external work is submitted.
   */
  checkSeq: z.number().int().positive().optional(),
  /** Epoch milliseconds of the next check. */
  nextCheckAt: z.number().int().nonnegative().optional(),
  submittedAt: isoTimestamp.optional(),
  /** Epoch milliseconds past which the job fails with `deadline_exceeded` (maxDurationSeconds, within the TTL). */
  deadlineAt: z.number().int().nonnegative().optional(),
  /** When the external work is expected to end, as the job type last reported it. */
  estimatedCompletion: isoTimestamp.optional(),
  /** Set by the one delivery that calls the job type's `cancel(state)`, so it runs at most once. */
  cancelCalledAt: isoTimestamp.optional(),
  /** Calls of `cancel(state)` that failed and gave the marker back for another call (the dead-letter settler's retries). */
  cancelFailures: z.number().int().positive().optional(),
  /** Completion webhooks: one target per callback URL, written at start. */
  notifications: z.array(NotificationTargetSchema).optional(),
  /** Set once the ended job's notification messages are on the notification queue. */
  notificationsQueuedAt: isoTimestamp.optional(),
});
export type JobRow = z.infer<typeof JobRowSchema>;

/** What the tools show of a job. */
export const JobViewSchema = z.object({
  jobId: z.uuid(),
  type: z.string(),
  status: JobStatusSchema,
  attempt: z.number().int().nonnegative(),
  maxAttempts: z.number().int().positive(),
  progress: ProgressSchema.optional(),
  estimatedCompletion: z
    .string()
    .optional()
    .describe("ISO 8601: when the job is expected to end, if its external service says"),
  result: z.unknown().optional(),
  /** Present instead of `result` when the result is too large to show inline: read it with read_job_result. */
  resultBytes: z.number().int().nonnegative().optional(),
  resultStored: z.literal("s3").optional(),
  resultSha256: z.string().optional().describe("Hex SHA-256 of the result's JSON text"),
  resultUrl: z
    .string()
    .optional()
    .describe("A link to the whole result JSON; it stops working at resultUrlExpiresAt"),
  resultUrlExpiresAt: z.string().optional(),
  resultHint: z.string().optional(),
  error: JobErrorSchema.optional(),
  lastError: JobErrorSchema.optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  expiresAt: z.string().describe("ISO 8601 time after which the job id no longer works"),
  pollAfterSeconds: z.number().int().nonnegative().optional(),
  notification: NotificationViewSchema.optional().describe(
    "Completion webhook delivery, when a callback is set",
  ),
});
export type JobView = z.infer<typeof JobViewSchema>;

export function toJobView(row: JobRow): JobView {
  return {
    jobId: row.id,
    type: row.type,
    status: row.status,
    attempt: row.attempt,
    maxAttempts: row.maxAttempts,
    ...(row.progress ? { progress: row.progress } : {}),
    ...(row.estimatedCompletion && !isTerminal(row.status)
      ? { estimatedCompletion: row.estimatedCompletion }
      : {}),
    ...(row.resultJson !== undefined ? { result: JSON.parse(row.resultJson) as unknown } : {}),
    ...(row.resultRef
      ? { resultBytes: row.resultRef.bytes, resultStored: "s3" as const, resultSha256: row.resultRef.sha256 }
      : {}),
    ...(row.error ? { error: clampError(row.error) } : {}),
    ...(row.lastError && !isTerminal(row.status) ? { lastError: clampError(row.lastError) } : {}),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    ...(row.startedAt ? { startedAt: row.startedAt } : {}),
    ...(row.finishedAt ? { finishedAt: row.finishedAt } : {}),
    expiresAt: new Date(row.expiresAt * 1000).toISOString(),
    ...withNotification(row),
  };
}

/** Job types' error messages are not bounded; a view shows at most this much of one. */
const MAX_ERROR_MESSAGE_CHARS = 2_000;

function clampError<T extends { message: string }>(error: T): T {
  return error.message.length <= MAX_ERROR_MESSAGE_CHARS
    ? error
    : { ...error, message: `${error.message.slice(0, MAX_ERROR_MESSAGE_CHARS - 1)}…` };
}

function withNotification(row: JobRow): Pick<JobView, "notification"> {
  const notification = toNotificationView(row.notifications);
  return notification ? { notification } : {};
}

/** A new job as its start writes it (ports.ts `NewJob`): what a start message carries. */
export const NewJobSchema = z.object({
  id: z.uuid(),
  type: z.string().min(1),
  owner: z.string().min(1),
  inputJson: z.string(),
  inputHash: z.string(),
  idempotencyKey: z.string().optional(),
  maxAttempts: z.number().int().positive(),
  expiresAt: z.number().int().positive(),
  notifications: z.array(NotificationTargetSchema).readonly().optional(),
});

export const JobMessageSchema = z.object({
  jobId: z.uuid(),
  type: z.string().min(1),
  /**
   * Start messages: the job's row as the start writes it, so that the worker can write it when the
   * start's own write never landed (the store stalled). Absent when it would make the message large.
   */
  job: NewJobSchema.optional(),
  /** Check messages of a submit/check job: the row's `checkSeq` this check is for. */
  check: z.number().int().positive().optional(),
  /** Epoch milliseconds the check is due; SQS delays at most 15 minutes, so longer waits chain. */
  dueAt: z.number().int().nonnegative().optional(),
});
export type JobMessage = z.infer<typeof JobMessageSchema>;

/** Epoch seconds, the unit of `expiresAt`: a row has expired once `expiresAt <= epochSeconds(now)`. */
export function epochSeconds(epochMs: number): number {
  return Math.floor(epochMs / 1000);
}

export const JOB_TTL_SECONDS = { default: 24 * 3600, min: 3600, max: 7 * 24 * 3600 } as const;
