import type { JobRow } from "../domain/job.js";
import type { Log, LogFields } from "../domain/logger.js";
import { sha256 } from "../domain/sha256.js";

/** A caller as logs name it: 16 hex digits of SHA-256 of the principal, never the principal itself. */
export function callerHash(owner: string): string {
  return sha256(owner).slice(0, 16);
}

/** The keys every log line about a job carries, so that one job's story is one query. */
export function jobLogFields(job: Pick<JobRow, "id" | "type" | "owner">): LogFields {
  return { jobId: job.id, type: job.type, caller: callerHash(job.owner) };
}

/**
 * A log for one job: every line carries `jobId` and `type`, and `caller` once a row of the job has
 * been read (a worker learns its owner from the claim). The line's own fields come first, so a
 * line about another job keeps its own `jobId`.
 */
export class JobLog implements Log {
  private readonly fields: LogFields;

  constructor(
    private readonly base: Log,
    job: { readonly jobId: string; readonly type: string },
  ) {
    this.fields = { jobId: job.jobId, type: job.type };
  }

  /** Adds the caller once a row of this job has been read. */
  learn(job: Pick<JobRow, "id" | "owner">): void {
    if (job.id === this.fields.jobId && this.fields.caller === undefined)
      this.fields.caller = callerHash(job.owner);
  }

  info(message: string, fields: LogFields): void {
    this.base.info(message, { ...this.fields, ...fields });
  }

  warn(message: string, fields: LogFields): void {
    this.base.warn(message, { ...this.fields, ...fields });
  }

  error(message: string, fields: LogFields): void {
    this.base.error(message, { ...this.fields, ...fields });
  }
}
