import { ACTIVE_STATUSES, epochSeconds, type JobRow } from "../../domain/job.js";
import type { CheckFence } from "../../domain/ports.js";

/*
 * The conditions of the job row's state transitions, as predicates over a row at a time `now`
 * (epoch ms): the in-memory twins of the DynamoDB condition expressions in
 * ../dynamo-job-store/conditions.ts and its transitions.
 */

/** Not expired: an expired row reads as gone, though it stays until DynamoDB's TTL sweeps it. */
export function isLive(row: JobRow, now: number): boolean {
  return row.expiresAt > epochSeconds(now);
}

/** queued, or running with a lapsed lease; never a submitted job (its external work is under way). */
export function isClaimable(row: JobRow, now: number): boolean {
  const lapsed = row.status === "running" && row.leaseExpiresAt !== undefined && row.leaseExpiresAt < now;
  return isLive(row, now) && (row.status === "queued" || lapsed) && row.checkSeq === undefined;
}

/** A submitted job at check number `check` whose lease lapsed. */
export function isCheckClaimable(row: JobRow, check: number, now: number): boolean {
  const free = row.leaseExpiresAt === undefined || row.leaseExpiresAt < now;
  return isLive(row, now) && row.status === "running" && row.checkSeq === check && free;
}

/** The run numbered `attempt` holds the job. */
export function isOwnedByRun(row: JobRow, attempt: number, now: number): boolean {
  return isLive(row, now) && row.status === "running" && row.attempt === attempt;
}

/** Check number `fence.check` of the run numbered `fence.attempt` may write. */
export function isOwnedByCheck(row: JobRow, fence: CheckFence, now: number): boolean {
  return isOwnedByRun(row, fence.attempt, now) && row.checkSeq === fence.check;
}

/** queued or running. */
export function isOpen(row: JobRow, now: number): boolean {
  return isLive(row, now) && ACTIVE_STATUSES.includes(row.status);
}
