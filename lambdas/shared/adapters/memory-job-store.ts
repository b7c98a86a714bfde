import { IdempotencyConflictError, JobNotFoundError, JobStateConflictError } from "../domain/errors.js";
import {
  ACTIVE_STATUSES,
  epochSeconds,
  type JobError,
  type JobRow,
  JobRowSchema,
  type Progress,
} from "../domain/job.js";
import {
  type CheckFence,
  type ClaimOutcome,
  type Clock,
  type CreateOutcome,
  isOwnClaim,
  isSameJob,
  type JobPage,
  type JobStore,
  type LeaseFence,
  type ListQuery,
  type NewJob,
  type PendingCheck,
  type SubmittedWork,
  systemClock,
} from "../domain/ports.js";
import type { ResultRef } from "../domain/results.js";
import { decodeListCursor, encodeListCursor, type ListPosition } from "./list-cursor.js";

/** The rows behind one or more `MemoryJobStore` views (each with its own clock). */
interface Tables {
  readonly jobs: Map<string, JobRow>;
  /** Keyed by owner and idempotency key; `expiresAt` in epoch seconds, as on the job row. */
  readonly idempotency: Map<
    string,
    { readonly jobId: string; readonly inputHash: string; expiresAt: number }
  >;
  /** Keyed by owner and epoch minute. */
  readonly starts: Map<string, number>;
}

const CANCELLED: JobError = {
  code: "cancelled",
  message: "The job was cancelled by its caller.",
  retryable: false,
};

/**
 * The job table in memory, under the same rules as `DynamoJobStore` (the contract suite in
 * `test/contract/job-store.contract.ts` holds both to them): for use-case tests without emulators,
 * and as the reference for another store. Rows are copied in and out, so a caller never holds a
 * live row; nothing is shared between processes. Expired rows stay until read, as in DynamoDB
 * before its TTL sweep, and read as gone.
 *
 * Over 300 lines: it mirrors `DynamoJobStore` method for method, so the two read side by side.
 */
export class MemoryJobStore implements JobStore {
  private readonly clock: Clock;
  private tables: Tables = { jobs: new Map(), idempotency: new Map(), starts: new Map() };

  constructor(options: { readonly clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  /** The same rows seen through another clock, as two processes with skewed clocks share one table. */
  withClock(clock: Clock): MemoryJobStore {
    const view = new MemoryJobStore({ clock });
    view.tables = this.tables;
    return view;
  }

  async create(job: NewJob): Promise<CreateOutcome> {
    const now = this.clock.now();
    const timestamp = new Date(now).toISOString();
    const row: JobRow = {
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
    const recordKey =
      job.idempotencyKey === undefined ? undefined : idempotencyKeyOf(job.owner, job.idempotencyKey);
    const record = recordKey === undefined ? undefined : this.tables.idempotency.get(recordKey);
    // An expired record no longer holds the key.
    if (job.idempotencyKey !== undefined && record && record.expiresAt > epochSeconds(now)) {
      const existing = record.inputHash === job.inputHash ? await this.get(record.jobId) : undefined;
      if (!existing || existing.owner !== job.owner) throw new IdempotencyConflictError(job.idempotencyKey);
      return { job: existing, created: false };
    }
    const same = this.tables.jobs.get(job.id);
    // A create tried again after its first try took effect (its answer was lost) finds its own row.
    if (same && isSameJob(same, job)) return { job: copy(same), created: true };
    if (same) throw new Error(`A row with id ${job.id} exists already.`);
    if (recordKey !== undefined) {
      this.tables.idempotency.set(recordKey, {
        jobId: job.id,
        inputHash: job.inputHash,
        expiresAt: job.expiresAt,
      });
    }
    this.tables.jobs.set(job.id, copy(row));
    return { job: copy(row), created: true };
  }

  async adopt(job: NewJob): Promise<JobRow | undefined> {
    try {
      const outcome = await this.create(job);
      return isSameJob(outcome.job, job) ? outcome.job : undefined;
    } catch {
      return undefined;
    }
  }

  async findByIdempotencyKey(owner: string, idempotencyKey: string): Promise<JobRow | undefined> {
    const record = this.tables.idempotency.get(idempotencyKeyOf(owner, idempotencyKey));
    if (!record || record.expiresAt <= epochSeconds(this.clock.now())) return undefined;
    const job = await this.get(record.jobId);
    return job?.owner === owner ? job : undefined;
  }

  async get(id: string): Promise<JobRow | undefined> {
    const row = this.tables.jobs.get(id);
    return row && !this.isExpired(row) ? copy(row) : undefined;
  }

  async claim(id: string, leaseMs: number, token?: string): Promise<ClaimOutcome> {
    const now = this.clock.now();
    const row = this.tables.jobs.get(id);
    const lapsed = row?.status === "running" && row.leaseExpiresAt !== undefined && row.leaseExpiresAt < now;
    // A submitted job has its external work under way: submitting again would start it twice.
    if (!row || this.isExpired(row) || !(row.status === "queued" || lapsed) || row.checkSeq !== undefined) {
      // Like a lost conditional write, the row as it was: the caller decides what it means.
      return this.ownClaimOr(row, token);
    }
    const timestamp = new Date(now).toISOString();
    const { claimToken: _previous, ...rest } = row;
    return {
      claimed: true,
      job: this.put({
        ...rest,
        status: "running",
        attempt: row.attempt + 1,
        leaseExpiresAt: now + leaseMs,
        ...(token !== undefined ? { claimToken: token } : {}),
        updatedAt: timestamp,
        startedAt: row.startedAt ?? timestamp,
      }),
    };
  }

  async claimCheck(id: string, check: number, leaseMs: number, token?: string): Promise<ClaimOutcome> {
    const now = this.clock.now();
    const row = this.tables.jobs.get(id);
    const free = row?.leaseExpiresAt === undefined || row.leaseExpiresAt < now;
    if (!row || this.isExpired(row) || row.status !== "running" || row.checkSeq !== check || !free) {
      return row?.checkSeq === check
        ? this.ownClaimOr(row, token)
        : { claimed: false, job: row && copy(row) };
    }
    const { claimToken: _previous, ...rest } = row;
    return {
      claimed: true,
      job: this.put({
        ...rest,
        leaseExpiresAt: now + leaseMs,
        ...(token !== undefined ? { claimToken: token } : {}),
        updatedAt: new Date(now).toISOString(),
      }),
    };
  }

  async renewLease(id: string, fence: LeaseFence, leaseMs: number): Promise<ClaimOutcome> {
    const row = this.ownedByRun(id, fence.attempt);
    if (!row || row.claimToken !== fence.token) {
      const current = this.tables.jobs.get(id);
      return { claimed: false, job: current && copy(current) };
    }
    const now = this.clock.now();
    return {
      claimed: true,
      // Not updatedAt: a renewal changes nothing a caller sees.
      job: this.put({ ...row, leaseExpiresAt: now + leaseMs }),
    };
  }

  /** A lost claim, unless the row is running under this same claim's token (an earlier try took effect). */
  private ownClaimOr(row: JobRow | undefined, token: string | undefined): ClaimOutcome {
    if (row && token !== undefined && isOwnClaim(row, token) && !this.isExpired(row)) {
      return { claimed: true, job: copy(row) };
    }
    return { claimed: false, job: row && copy(row) };
  }

  async recordSubmit(id: string, attempt: number, work: SubmittedWork): Promise<JobRow> {
    const row = this.ownedByRun(id, attempt);
    if (!row || row.checkSeq !== undefined) throw new JobStateConflictError(id, "record the submitted work");
    const timestamp = this.timestamp();
    const { lastError: _lastError, ...rest } = row;
    return this.put({
      ...rest,
      stateJson: work.stateJson,
      checkSeq: 1,
      nextCheckAt: work.nextCheckAt,
      deadlineAt: work.deadlineAt,
      submittedAt: timestamp,
      leaseExpiresAt: 0,
      updatedAt: timestamp,
    });
  }

  async recordCheck(id: string, fence: CheckFence, pending: PendingCheck): Promise<JobRow> {
    const row = this.ownedByCheck(id, fence);
    if (!row) throw new JobStateConflictError(id, `record check ${fence.check}`);
    const { lastError: _lastError, ...rest } = row;
    return this.put({
      ...rest,
      ...(pending.stateJson !== undefined ? { stateJson: pending.stateJson } : {}),
      ...(pending.progress !== undefined ? { progress: pending.progress } : {}),
      ...(pending.estimatedCompletion !== undefined
        ? { estimatedCompletion: pending.estimatedCompletion }
        : {}),
      checkSeq: fence.check + 1,
      nextCheckAt: pending.nextCheckAt,
      leaseExpiresAt: 0,
      updatedAt: this.timestamp(),
    });
  }

  async retryCheck(id: string, fence: CheckFence, error: JobError): Promise<JobRow> {
    const row = this.ownedByCheck(id, fence);
    if (!row) throw new JobStateConflictError(id, `release check ${fence.check} for a retry`);
    return this.put({
      ...row,
      attempt: row.attempt + 1,
      lastError: error,
      leaseExpiresAt: 0,
      updatedAt: this.timestamp(),
    });
  }

  async markCancelCalled(id: string): Promise<boolean> {
    const row = this.tables.jobs.get(id);
    if (
      !row ||
      row.cancelCalledAt !== undefined ||
      !(row.status === "cancelled" || row.status === "failed")
    ) {
      return false;
    }
    // Not updatedAt: an ended job's visible fields never change.
    this.put({ ...row, cancelCalledAt: this.timestamp() });
    return true;
  }

  async releaseFailedCancel(id: string, maxCalls: number): Promise<boolean> {
    const row = this.tables.jobs.get(id);
    const failures = row?.cancelFailures ?? 0;
    if (!row || row.cancelCalledAt === undefined || failures + 1 >= maxCalls) return false;
    const { cancelCalledAt: _marker, ...rest } = row;
    this.put({ ...rest, cancelFailures: failures + 1 });
    return true;
  }

  async progress(id: string, attempt: number, progress: Progress): Promise<boolean> {
    const row = this.ownedByRun(id, attempt);
    if (!row || (row.progress !== undefined && row.progress.current > progress.current)) return false;
    this.put({ ...row, progress, updatedAt: this.timestamp() });
    return true;
  }

  complete(id: string, attempt: number, resultJson: string, check?: number): Promise<JobRow> {
    return this.finish(id, attempt, "completed", { resultJson }, check);
  }

  completeWithResultRef(id: string, attempt: number, ref: ResultRef, check?: number): Promise<JobRow> {
    return this.finish(id, attempt, "completed", { resultRef: ref }, check);
  }

  fail(id: string, attempt: number, error: JobError, check?: number): Promise<JobRow> {
    return this.finish(id, attempt, "failed", { error }, check);
  }

  async failOpen(id: string, error: JobError): Promise<JobRow> {
    const row = this.open(id);
    if (!row) throw new JobStateConflictError(id, "fail an open job");
    const timestamp = this.timestamp();
    const { leaseExpiresAt: _lease, nextCheckAt: _nextCheck, ...rest } = row;
    return this.put({ ...rest, status: "failed", error, finishedAt: timestamp, updatedAt: timestamp });
  }

  async releaseForRetry(id: string, attempt: number, error: JobError): Promise<JobRow> {
    const row = this.ownedByRun(id, attempt);
    if (!row) throw new JobStateConflictError(id, "release the job for a retry");
    return this.put({ ...row, lastError: error, leaseExpiresAt: 0, updatedAt: this.timestamp() });
  }

  async cancel(id: string, owner: string): Promise<JobRow> {
    const row = this.tables.jobs.get(id);
    // Another caller's job, an unknown id and an expired job must be indistinguishable.
    if (!row || row.owner !== owner || this.isExpired(row)) throw new JobNotFoundError(id);
    if (!this.open(id)) return copy(row);
    const timestamp = this.timestamp();
    const { leaseExpiresAt: _lease, nextCheckAt: _nextCheck, ...rest } = row;
    return this.put({
      ...rest,
      status: "cancelled",
      error: CANCELLED,
      finishedAt: timestamp,
      updatedAt: timestamp,
    });
  }

  async listByOwner(owner: string, query: ListQuery): Promise<JobPage> {
    const after = query.cursor === undefined ? undefined : decodeListCursor(query.cursor, owner);
    const matching = [...this.tables.jobs.values()]
      .filter(
        (row) =>
          row.owner === owner &&
          !this.isExpired(row) &&
          (query.status === undefined || row.status === query.status) &&
          (after === undefined || newestFirst(row, after) > 0),
      )
      .sort(newestFirst);
    const jobs = matching.slice(0, query.limit).map(copy);
    const last = jobs.at(-1);
    if (last === undefined || matching.length <= query.limit) return { jobs };
    const position: ListPosition = { id: last.id, owner: last.owner, createdAt: last.createdAt };
    return { jobs, nextCursor: encodeListCursor(position) };
  }

  async countActive(owner: string, atMost: number): Promise<number> {
    let count = 0;
    for (const row of this.tables.jobs.values()) {
      if (row.owner === owner && ACTIVE_STATUSES.includes(row.status) && !this.isExpired(row)) count++;
    }
    return Math.min(count, atMost);
  }

  async tryRecordStart(owner: string, limit: number, atMs?: number): Promise<boolean> {
    const minute = Math.floor((atMs ?? this.clock.now()) / 60_000);
    // Past minutes never count again (DynamoDB's TTL deletes their counters).
    for (const key of this.tables.starts.keys()) {
      if (Number(key.slice(key.lastIndexOf("#") + 1)) < minute - 1) this.tables.starts.delete(key);
    }
    const key = `${JSON.stringify(owner)}#${minute}`;
    const starts = this.tables.starts.get(key) ?? 0;
    if (starts >= limit) return false;
    this.tables.starts.set(key, starts + 1);
    return true;
  }

  async releaseStart(owner: string, atMs: number): Promise<void> {
    const key = `${JSON.stringify(owner)}#${Math.floor(atMs / 60_000)}`;
    const starts = this.tables.starts.get(key) ?? 0;
    if (starts > 0) this.tables.starts.set(key, starts - 1);
  }

  /** Ends the run that owns the job, writing its result or error beside the final status. */
  private async finish(
    id: string,
    attempt: number,
    status: "completed" | "failed",
    outcome: Pick<JobRow, "resultJson" | "resultRef" | "error">,
    check?: number,
  ): Promise<JobRow> {
    const row =
      check === undefined ? this.ownedByRun(id, attempt) : this.ownedByCheck(id, { attempt, check });
    if (!row) throw new JobStateConflictError(id, `mark the job ${status}`);
    const timestamp = this.timestamp();
    const { leaseExpiresAt: _lease, lastError: _lastError, nextCheckAt: _nextCheck, ...rest } = row;
    return this.put({ ...rest, ...outcome, status, finishedAt: timestamp, updatedAt: timestamp });
  }

  /** The live row if the run numbered `attempt` holds it. */
  private ownedByRun(id: string, attempt: number): JobRow | undefined {
    const row = this.tables.jobs.get(id);
    return row && !this.isExpired(row) && row.status === "running" && row.attempt === attempt
      ? row
      : undefined;
  }

  /** The live row if check number `fence.check` of the run numbered `fence.attempt` may write. */
  private ownedByCheck(id: string, fence: CheckFence): JobRow | undefined {
    const row = this.ownedByRun(id, fence.attempt);
    return row?.checkSeq === fence.check ? row : undefined;
  }

  /** The live row if it is queued or running. */
  private open(id: string): JobRow | undefined {
    const row = this.tables.jobs.get(id);
    return row && !this.isExpired(row) && ACTIVE_STATUSES.includes(row.status) ? row : undefined;
  }

  private put(row: JobRow): JobRow {
    this.tables.jobs.set(row.id, copy(row));
    return copy(row);
  }

  private timestamp(): string {
    return new Date(this.clock.now()).toISOString();
  }

  private isExpired(row: JobRow): boolean {
    return row.expiresAt <= epochSeconds(this.clock.now());
  }
}

/** Descending by creation, then by id: the order of DynamoDB's owner index read backwards. */
function newestFirst(a: ListPosition, b: ListPosition): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.id === b.id ? 0 : a.id < b.id ? 1 : -1;
}

/**
 * A parsed copy, on the way in and out: the DynamoDB adapter parses every row it reads, and its
 * marshaller drops undefined fields as JSON does.
 */
function copy(row: JobRow): JobRow {
  return JobRowSchema.parse(JSON.parse(JSON.stringify(row)));
}

function idempotencyKeyOf(owner: string, idempotencyKey: string): string {
  return JSON.stringify([owner, idempotencyKey]);
}
