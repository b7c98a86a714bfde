import { CANCELLED_BY_CALLER, JobNotFoundError, JobStateConflictError } from "../../domain/errors.js";
import { holdsKey, jobOfRepeatedStart } from "../../domain/idempotent-start.js";
import type { JobError, JobRow, Progress } from "../../domain/job.js";
import { newJobRow } from "../../domain/new-job-row.js";
import { isOwnedBy } from "../../domain/owner-scope.js";
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
} from "../../domain/ports.js";
import type { ResultRef } from "../../domain/results.js";
import { decodeListCursor, encodeListCursor, type ListPosition } from "../list-cursor.js";
import { MemoryCallerQuotas } from "./caller-quotas.js";
import { isCheckClaimable, isClaimable, isLive, isOpen, isOwnedByCheck, isOwnedByRun } from "./conditions.js";
import { copy, idempotencyKeyOf, MemoryJobTable } from "./job-table.js";
import { checkClaimed, checked, claimed, endedOpen, finished, released, submitted } from "./transitions.js";

export interface MemoryJobStoreOptions {
  readonly clock?: Clock;
  /** The rows to work on, shared with other views of them. @default a new, empty table */
  readonly table?: MemoryJobTable;
}

/**
 * The job table in memory, under the same rules as `DynamoJobStore` (the contract suite in
 * `test/contract/job-store.contract.ts` holds both to them): for use-case tests without emulators,
 * and as the reference for another store. Rows are copied in and out, so a caller never holds a
 * live row; nothing is shared between processes. Expired rows stay until read, as in DynamoDB
 * before its TTL sweep, and read as gone. The conditions of its writes are in conditions.ts.
 */
export class MemoryJobStore implements JobStore {
  /** The rows, for another view of them (the in-memory notification store). */
  readonly table: MemoryJobTable;
  private readonly clock: Clock;
  private readonly quotas: MemoryCallerQuotas;

  constructor(options: MemoryJobStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.table = options.table ?? new MemoryJobTable();
    this.quotas = new MemoryCallerQuotas(this.table, this.clock);
  }

  /** The same rows seen through another clock, as two processes with skewed clocks share one table. */
  withClock(clock: Clock): MemoryJobStore {
    return new MemoryJobStore({ clock, table: this.table });
  }

  async create(job: NewJob): Promise<CreateOutcome> {
    const now = this.clock.now();
    const row = newJobRow(job, now);
    const { idempotency } = this.table;
    const recordKey =
      job.idempotencyKey === undefined ? undefined : idempotencyKeyOf(job.owner, job.idempotencyKey);
    const record = recordKey === undefined ? undefined : idempotency.get(recordKey);
    if (job.idempotencyKey !== undefined && record && holdsKey(record, now)) {
      const keyed = { ...job, idempotencyKey: job.idempotencyKey };
      return { job: await jobOfRepeatedStart(keyed, record, (id) => this.get(id)), created: false };
    }
    const same = this.table.peek(job.id);
    // A create tried again after its first try took effect (its answer was lost) finds its own row.
    if (same && isSameJob(same, job)) return { job: copy(same), created: true };
    if (same) throw new Error(`A row with id ${job.id} exists already.`);
    if (recordKey !== undefined) {
      idempotency.set(recordKey, { jobId: job.id, inputHash: job.inputHash, expiresAt: job.expiresAt });
    }
    return { job: this.table.write(row), created: true };
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
    const record = this.table.idempotency.get(idempotencyKeyOf(owner, idempotencyKey));
    if (!record || !holdsKey(record, this.clock.now())) return undefined;
    const job = await this.get(record.jobId);
    return isOwnedBy(job, owner) ? job : undefined;
  }

  async get(id: string): Promise<JobRow | undefined> {
    const row = this.table.peek(id);
    return row && isLive(row, this.clock.now()) ? copy(row) : undefined;
  }

  async claim(id: string, leaseMs: number, token?: string): Promise<ClaimOutcome> {
    const now = this.clock.now();
    const row = this.table.peek(id);
    // Like a lost conditional write, the row as it was: the caller decides what it means.
    if (!row || !isClaimable(row, now)) return this.ownClaimOr(row, token);
    return { claimed: true, job: this.table.write(claimed(row, now, leaseMs, token)) };
  }

  async claimCheck(id: string, check: number, leaseMs: number, token?: string): Promise<ClaimOutcome> {
    const now = this.clock.now();
    const row = this.table.peek(id);
    if (!row || !isCheckClaimable(row, check, now)) {
      return row?.checkSeq === check
        ? this.ownClaimOr(row, token)
        : { claimed: false, job: row && copy(row) };
    }
    return { claimed: true, job: this.table.write(checkClaimed(row, now, leaseMs, token)) };
  }

  async renewLease(id: string, fence: LeaseFence, leaseMs: number): Promise<ClaimOutcome> {
    const row = this.ownedByRun(id, fence.attempt);
    if (!row || row.claimToken !== fence.token) {
      const current = this.table.peek(id);
      return { claimed: false, job: current && copy(current) };
    }
    // Not updatedAt: a renewal changes nothing a caller sees.
    return { claimed: true, job: this.table.write({ ...row, leaseExpiresAt: this.clock.now() + leaseMs }) };
  }

  async recordSubmit(id: string, attempt: number, work: SubmittedWork): Promise<JobRow> {
    const row = this.ownedByRun(id, attempt);
    if (!row || row.checkSeq !== undefined) throw new JobStateConflictError(id, "record the submitted work");
    return this.table.write(submitted(row, this.clock.now(), work));
  }

  async recordCheck(id: string, fence: CheckFence, pending: PendingCheck): Promise<JobRow> {
    const row = this.ownedByCheck(id, fence);
    if (!row) throw new JobStateConflictError(id, `record check ${fence.check}`);
    return this.table.write(checked(row, this.clock.now(), fence, pending));
  }

  async retryCheck(id: string, fence: CheckFence, error: JobError): Promise<JobRow> {
    const row = this.ownedByCheck(id, fence);
    if (!row) throw new JobStateConflictError(id, `release check ${fence.check} for a retry`);
    return this.table.write(released(row, this.clock.now(), error, true));
  }

  async markCancelCalled(id: string): Promise<boolean> {
    const row = this.table.peek(id);
    const ended = row?.status === "cancelled" || row?.status === "failed";
    if (!row || row.cancelCalledAt !== undefined || !ended) return false;
    // Not updatedAt: an ended job's visible fields never change.
    this.table.write({ ...row, cancelCalledAt: this.timestamp() });
    return true;
  }

  async releaseFailedCancel(id: string, maxCalls: number): Promise<boolean> {
    const row = this.table.peek(id);
    const failures = row?.cancelFailures ?? 0;
    if (!row || row.cancelCalledAt === undefined || failures + 1 >= maxCalls) return false;
    const { cancelCalledAt: _marker, ...rest } = row;
    this.table.write({ ...rest, cancelFailures: failures + 1 });
    return true;
  }

  async progress(id: string, attempt: number, progress: Progress): Promise<boolean> {
    const row = this.ownedByRun(id, attempt);
    if (!row || (row.progress !== undefined && row.progress.current > progress.current)) return false;
    this.table.write({ ...row, progress, updatedAt: this.timestamp() });
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
    return this.table.write(endedOpen(row, this.clock.now(), "failed", error));
  }

  async releaseForRetry(id: string, attempt: number, error: JobError): Promise<JobRow> {
    const row = this.ownedByRun(id, attempt);
    if (!row) throw new JobStateConflictError(id, "release the job for a retry");
    return this.table.write(released(row, this.clock.now(), error, false));
  }

  async cancel(id: string, owner: string): Promise<JobRow> {
    const row = this.table.peek(id);
    // Another caller's job, an unknown id and an expired job must be indistinguishable.
    if (!isOwnedBy(row, owner) || !isLive(row, this.clock.now())) throw new JobNotFoundError(id);
    if (!this.open(id)) return copy(row);
    return this.table.write(endedOpen(row, this.clock.now(), "cancelled", CANCELLED_BY_CALLER));
  }

  async listByOwner(owner: string, query: ListQuery): Promise<JobPage> {
    const after = query.cursor === undefined ? undefined : decodeListCursor(query.cursor, owner);
    const now = this.clock.now();
    const matching = [...this.table.peekAll()]
      .filter(
        (row) =>
          isOwnedBy(row, owner) &&
          isLive(row, now) &&
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

  countActive(owner: string, atMost: number): Promise<number> {
    return this.quotas.countActive(owner, atMost);
  }

  tryRecordStart(owner: string, limit: number, atMs?: number): Promise<boolean> {
    return this.quotas.tryRecordStart(owner, limit, atMs);
  }

  releaseStart(owner: string, atMs: number): Promise<void> {
    return this.quotas.releaseStart(owner, atMs);
  }

  /** A lost claim, unless the row is running under this same claim's token (an earlier try took effect). */
  private ownClaimOr(row: JobRow | undefined, token: string | undefined): ClaimOutcome {
    if (row && token !== undefined && isOwnClaim(row, token) && isLive(row, this.clock.now())) {
      return { claimed: true, job: copy(row) };
    }
    return { claimed: false, job: row && copy(row) };
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
    return this.table.write(finished(row, this.clock.now(), status, outcome));
  }

  private ownedByRun(id: string, attempt: number): JobRow | undefined {
    const row = this.table.peek(id);
    return row && isOwnedByRun(row, attempt, this.clock.now()) ? row : undefined;
  }

  private ownedByCheck(id: string, fence: CheckFence): JobRow | undefined {
    const row = this.table.peek(id);
    return row && isOwnedByCheck(row, fence, this.clock.now()) ? row : undefined;
  }

  private open(id: string): JobRow | undefined {
    const row = this.table.peek(id);
    return row && isOpen(row, this.clock.now()) ? row : undefined;
  }

  private timestamp(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

/** Descending by creation, then by id: the order of DynamoDB's owner index read backwards. */
function newestFirst(a: ListPosition, b: ListPosition): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.id === b.id ? 0 : a.id < b.id ? 1 : -1;
}
