import type { IdempotencyRecord } from "../../domain/idempotent-start.js";
import { type JobRow, JobRowSchema } from "../../domain/job.js";

/**
 * The rows of the job table in memory, shared by every view of it (`MemoryJobStore.withClock`, the
 * in-memory notification store). Rows are copied in and out, so a caller never holds a live row.
 */
export class MemoryJobTable {
  private readonly jobs = new Map<string, JobRow>();
  /** Keyed by owner and idempotency key. */
  readonly idempotency = new Map<string, IdempotencyRecord>();
  /** Start counters, keyed by owner and epoch minute. */
  readonly starts = new Map<string, number>();

  /** The stored row itself, expired or not: read it, never change it (write a new one). */
  peek(id: string): JobRow | undefined {
    return this.jobs.get(id);
  }

  /** The stored rows themselves, expired or not: as `peek`. */
  peekAll(): IterableIterator<JobRow> {
    return this.jobs.values();
  }

  /** Stores a copy and answers another. */
  write(row: JobRow): JobRow {
    this.jobs.set(row.id, copy(row));
    return copy(row);
  }
}

/** The idempotency table's key of an owner's key. */
export function idempotencyKeyOf(owner: string, idempotencyKey: string): string {
  return JSON.stringify([owner, idempotencyKey]);
}

/**
 * A parsed copy, on the way in and out: the DynamoDB adapter parses every row it reads, and its
 * marshaller drops undefined fields as JSON does.
 */
export function copy(row: JobRow): JobRow {
  return JobRowSchema.parse(JSON.parse(JSON.stringify(row)));
}
