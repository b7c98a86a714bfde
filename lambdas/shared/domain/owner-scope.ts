import type { JobRow } from "./job.js";

/**
 * Owner scoping, the one check of it: a job is its owner's alone. Every tool read, a cancel, a
 * listing and an idempotent start pass through here, and another owner's job reads like an unknown id.
 */
export function isOwnedBy<Row extends Pick<JobRow, "owner">>(
  row: Row | undefined,
  owner: string,
): row is Row {
  return row !== undefined && row.owner === owner;
}
