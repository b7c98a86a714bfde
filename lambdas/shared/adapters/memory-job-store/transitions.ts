import type { JobError, JobRow } from "../../domain/job.js";
import type { CheckFence, PendingCheck, SubmittedWork } from "../../domain/ports.js";

/*
 * The job row's state transitions in memory: pure functions from the row a condition admitted
 * (conditions.ts) to the row written, at a time `now` (epoch ms). The twins of the DynamoDB
 * update expressions in ../dynamo-job-store/run-transitions.ts and submit-check-transitions.ts.
 */

const isoAt = (now: number): string => new Date(now).toISOString();

/** running under a new attempt, holding the lease; a claim without a token drops the previous one's. */
export function claimed(row: JobRow, now: number, leaseMs: number, token: string | undefined): JobRow {
  const { claimToken: _previous, ...rest } = row;
  return {
    ...rest,
    status: "running",
    attempt: row.attempt + 1,
    leaseExpiresAt: now + leaseMs,
    ...(token !== undefined ? { claimToken: token } : {}),
    updatedAt: isoAt(now),
    startedAt: row.startedAt ?? isoAt(now),
  };
}

/** Held for its next check; the attempt stays. */
export function checkClaimed(row: JobRow, now: number, leaseMs: number, token: string | undefined): JobRow {
  const { claimToken: _previous, ...rest } = row;
  return {
    ...rest,
    leaseExpiresAt: now + leaseMs,
    ...(token !== undefined ? { claimToken: token } : {}),
    updatedAt: isoAt(now),
  };
}

/** The submitted work's state, check number 1, the lease given up. */
export function submitted(row: JobRow, now: number, work: SubmittedWork): JobRow {
  const { lastError: _lastError, ...rest } = row;
  return {
    ...rest,
    stateJson: work.stateJson,
    checkSeq: 1,
    nextCheckAt: work.nextCheckAt,
    deadlineAt: work.deadlineAt,
    submittedAt: isoAt(now),
    leaseExpiresAt: 0,
    updatedAt: isoAt(now),
  };
}

/** A pending check: what it reported, `checkSeq` + 1, the lease given up. */
export function checked(row: JobRow, now: number, fence: CheckFence, pending: PendingCheck): JobRow {
  const { lastError: _lastError, ...rest } = row;
  return {
    ...rest,
    ...(pending.stateJson !== undefined ? { stateJson: pending.stateJson } : {}),
    ...(pending.progress !== undefined ? { progress: pending.progress } : {}),
    ...(pending.estimatedCompletion !== undefined
      ? { estimatedCompletion: pending.estimatedCompletion }
      : {}),
    checkSeq: fence.check + 1,
    nextCheckAt: pending.nextCheckAt,
    leaseExpiresAt: 0,
    updatedAt: isoAt(now),
  };
}

/** Released for another run after a transient failure (a check's also counts a new attempt). */
export function released(row: JobRow, now: number, error: JobError, newAttempt: boolean): JobRow {
  return {
    ...row,
    ...(newAttempt ? { attempt: row.attempt + 1 } : {}),
    lastError: error,
    leaseExpiresAt: 0,
    updatedAt: isoAt(now),
  };
}

/** Ended by its run: the result or error beside the final status. */
export function finished(
  row: JobRow,
  now: number,
  status: "completed" | "failed",
  outcome: Pick<JobRow, "resultJson" | "resultRef" | "error">,
): JobRow {
  const { leaseExpiresAt: _lease, lastError: _lastError, nextCheckAt: _nextCheck, ...rest } = row;
  return { ...rest, ...outcome, status, finishedAt: isoAt(now), updatedAt: isoAt(now) };
}

/** Ended from outside its run: failed whoever held it, or cancelled by its caller. */
export function endedOpen(row: JobRow, now: number, status: "failed" | "cancelled", error: JobError): JobRow {
  const { leaseExpiresAt: _lease, nextCheckAt: _nextCheck, ...rest } = row;
  return { ...rest, status, error, finishedAt: isoAt(now), updatedAt: isoAt(now) };
}
