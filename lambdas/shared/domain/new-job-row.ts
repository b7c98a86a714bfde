import type { JobRow } from "./job.js";
import type { NewJob } from "./ports.js";

/**
 * The row a start writes for a new job: queued, no run claimed yet, created and updated at `atMs`.
 * Every store builds a new job's row here, so a create and an adopt write the same fields.
 */
export function newJobRow(job: NewJob, atMs: number): JobRow {
  const timestamp = new Date(atMs).toISOString();
  return {
    id: job.id,
    type: job.type,
    owner: job.owner,
    status: "queued",
    inputJson: job.inputJson,
    inputHash: job.inputHash,
    ...(job.idempotencyKey !== undefined ? { idempotencyKey: job.idempotencyKey } : {}),
    attempt: 0,
    maxAttempts: job.maxAttempts,
    createdAt: timestamp,
    updatedAt: timestamp,
    expiresAt: job.expiresAt,
    ...(job.notifications?.length ? { notifications: [...job.notifications] } : {}),
  };
}
