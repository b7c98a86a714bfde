import { ConditionalCheckFailedException, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { PutCommand, TransactWriteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { JobNotFoundError, JobStateConflictError } from "../../domain/errors.js";
import { holdsKey, jobOfRepeatedStart } from "../../domain/idempotent-start.js";
import { epochSeconds, type JobError, type JobRow, JobRowSchema, type Progress } from "../../domain/job.js";
import { newJobRow } from "../../domain/new-job-row.js";
import { isOwnedBy } from "../../domain/owner-scope.js";
import type {
  CheckFence,
  ClaimOutcome,
  Clock,
  CreateOutcome,
  JobPage,
  JobStore,
  LeaseFence,
  ListQuery,
  NewJob,
  PendingCheck,
  SubmittedWork,
} from "../../domain/ports.js";
import { isOwnClaim, isSameJob } from "../../domain/ports.js";
import type { ResultRef } from "../../domain/results.js";
import { DynamoCallerQuotas } from "./caller-quotas.js";
import type { TransitionSpec } from "./conditions.js";
import { type DynamoJobStoreOptions, JobTableDocuments, landed } from "./documents.js";
import {
  idempotencyRecordId,
  idempotencyRecordOf,
  idempotencyRecordPut,
  idempotencyRecordUpdate,
} from "./idempotency.js";
import { listOwnerJobs } from "./owner-listing.js";
import { jobRowOf, newJobPut, newJobUpdate, rowFromConditionFailure } from "./row-codec.js";
import {
  cancelTransition,
  claimTransition,
  type FinishSpec,
  failOpenTransition,
  finishTransition,
  progressTransition,
  releaseForRetryTransition,
  renewLeaseUpdate,
} from "./run-transitions.js";
import {
  claimCheckTransition,
  markCancelCalledUpdate,
  recordCheckTransition,
  recordSubmitTransition,
  releaseFailedCancelUpdate,
  retryCheckTransition,
} from "./submit-check-transitions.js";

export type { DynamoJobStoreOptions } from "./documents.js";

/**
 * The job table on DynamoDB. Job rows are keyed by job id; two kinds of helper rows share the
 * table and carry no `owner`, so they never appear in the owner index: idempotency records
 * (`idempotency#…`, idempotency.ts) and per-minute start counters (`starts#…`, caller-quotas.ts).
 * Each state change is a named transition (run-transitions.ts, submit-check-transitions.ts) that
 * this class sends as one conditional write.
 */
export class DynamoJobStore implements JobStore {
  private readonly table: JobTableDocuments;
  private readonly quotas: DynamoCallerQuotas;

  constructor(options: DynamoJobStoreOptions) {
    this.table = new JobTableDocuments(options);
    this.quotas = new DynamoCallerQuotas(this.table);
  }

  private get clock(): Clock {
    return this.table.clock;
  }

  async create(job: NewJob): Promise<CreateOutcome> {
    const now = this.clock.now();
    const row = newJobRow(job, now);
    const rowPut = newJobPut(this.table.tableName, row);
    if (job.idempotencyKey === undefined) {
      try {
        await this.table.client.send(
          new PutCommand({ ...rowPut, ReturnValuesOnConditionCheckFailure: "ALL_OLD" }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        // The SDK's retry of a put whose first try took effect (its answer was lost) finds its own row.
        const existing = rowFromConditionFailure(error);
        if (!existing || !isSameJob(existing, job)) throw error;
        return { job: existing, created: true };
      }
      return { job: row, created: true };
    }

    const keyed = { ...job, idempotencyKey: job.idempotencyKey };
    try {
      await this.table.client.send(
        new TransactWriteCommand({
          TransactItems: [{ Put: idempotencyRecordPut(this.table.tableName, keyed, now) }, { Put: rowPut }],
        }),
      );
      return { job: row, created: true };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      if (error.CancellationReasons?.[0]?.Code !== "ConditionalCheckFailed") throw error;
      const record = idempotencyRecordOf(
        await this.table.getItem(idempotencyRecordId(job.owner, keyed.idempotencyKey)),
      );
      return { job: await jobOfRepeatedStart(keyed, record, (id) => this.get(id)), created: false };
    }
  }

  /** As `create`, with UpdateItem only (the worker may not PutItem): an update of a missing key creates it. */
  async adopt(job: NewJob): Promise<JobRow | undefined> {
    const now = this.clock.now();
    const rowUpdate = newJobUpdate(this.table.tableName, newJobRow(job, now));
    try {
      if (job.idempotencyKey === undefined) {
        await this.table.client.send(new UpdateCommand(rowUpdate));
      } else {
        const keyed = { ...job, idempotencyKey: job.idempotencyKey };
        await this.table.client.send(
          new TransactWriteCommand({
            TransactItems: [
              { Update: idempotencyRecordUpdate(this.table.tableName, keyed, now) },
              { Update: rowUpdate },
            ],
          }),
        );
      }
    } catch (error) {
      const lost =
        error instanceof ConditionalCheckFailedException || error instanceof TransactionCanceledException;
      if (!lost) throw error;
    }
    const row = await this.get(job.id);
    return row && isSameJob(row, job) ? row : undefined;
  }

  async findByIdempotencyKey(owner: string, idempotencyKey: string): Promise<JobRow | undefined> {
    const record = idempotencyRecordOf(await this.table.getItem(idempotencyRecordId(owner, idempotencyKey)));
    if (!record || !holdsKey(record, this.clock.now())) return undefined;
    const job = await this.get(record.jobId);
    return isOwnedBy(job, owner) ? job : undefined;
  }

  async get(id: string): Promise<JobRow | undefined> {
    const row = jobRowOf(await this.table.getItem(id));
    return row && !this.isExpired(row) ? row : undefined;
  }

  async claim(id: string, leaseMs: number, token?: string): Promise<ClaimOutcome> {
    try {
      return { claimed: true, job: await this.update(id, claimTransition(this.clock.now(), leaseMs, token)) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return this.ownClaimOr(rowFromConditionFailure(error), token);
    }
  }

  async claimCheck(id: string, check: number, leaseMs: number, token?: string): Promise<ClaimOutcome> {
    const spec = claimCheckTransition(this.clock.now(), check, leaseMs, token);
    try {
      return { claimed: true, job: await this.update(id, spec) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const row = rowFromConditionFailure(error);
      return row?.checkSeq === check ? this.ownClaimOr(row, token) : { claimed: false, job: row };
    }
  }

  async renewLease(id: string, fence: LeaseFence, leaseMs: number): Promise<ClaimOutcome> {
    try {
      const renewed = await this.table.update(
        id,
        renewLeaseUpdate(this.clock.now(), fence, leaseMs),
        "ALL_NEW",
      );
      return { claimed: true, job: JobRowSchema.parse(renewed) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { claimed: false, job: rowFromConditionFailure(error) };
    }
  }

  recordSubmit(id: string, attempt: number, work: SubmittedWork): Promise<JobRow> {
    return this.conditional(id, "record the submitted work", recordSubmitTransition(attempt, work));
  }

  recordCheck(id: string, fence: CheckFence, pending: PendingCheck): Promise<JobRow> {
    return this.conditional(id, `record check ${fence.check}`, recordCheckTransition(fence, pending));
  }

  retryCheck(id: string, fence: CheckFence, error: JobError): Promise<JobRow> {
    return this.conditional(
      id,
      `release check ${fence.check} for a retry`,
      retryCheckTransition(fence, error),
    );
  }

  markCancelCalled(id: string): Promise<boolean> {
    return landed(this.table.update(id, markCancelCalledUpdate(this.clock.now())));
  }

  releaseFailedCancel(id: string, maxCalls: number): Promise<boolean> {
    return landed(this.table.update(id, releaseFailedCancelUpdate(maxCalls)));
  }

  progress(id: string, attempt: number, progress: Progress): Promise<boolean> {
    return landed(this.table.writeTransition(id, progressTransition(attempt, progress)));
  }

  complete(id: string, attempt: number, resultJson: string, check?: number): Promise<JobRow> {
    return this.ended(finishTransition(attempt, "completed", "resultJson", resultJson, check), id);
  }

  completeWithResultRef(id: string, attempt: number, ref: ResultRef, check?: number): Promise<JobRow> {
    return this.ended(finishTransition(attempt, "completed", "resultRef", ref, check), id);
  }

  fail(id: string, attempt: number, error: JobError, check?: number): Promise<JobRow> {
    return this.ended(finishTransition(attempt, "failed", "error", error, check), id);
  }

  failOpen(id: string, error: JobError): Promise<JobRow> {
    return this.conditional(id, "fail an open job", failOpenTransition(error));
  }

  releaseForRetry(id: string, attempt: number, error: JobError): Promise<JobRow> {
    return this.conditional(id, "release the job for a retry", releaseForRetryTransition(attempt, error));
  }

  async cancel(id: string, owner: string): Promise<JobRow> {
    try {
      return await this.update(id, cancelTransition(owner));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const row = rowFromConditionFailure(error);
      // Another caller's job, an unknown id and an expired job must be indistinguishable.
      if (!isOwnedBy(row, owner) || this.isExpired(row)) throw new JobNotFoundError(id);
      return row;
    }
  }

  listByOwner(owner: string, query: ListQuery): Promise<JobPage> {
    return listOwnerJobs(this.table, owner, query);
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

  /** A run's end: the terminal write of the run (or check) that owns the job. */
  private ended(spec: FinishSpec, id: string): Promise<JobRow> {
    return this.conditional(id, `mark the job ${spec.status}`, spec);
  }

  /** A transition whose lost condition means the job moved on without this writer. */
  private async conditional(id: string, attemptedChange: string, spec: TransitionSpec): Promise<JobRow> {
    try {
      return await this.update(id, spec);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new JobStateConflictError(id, attemptedChange, { cause: error });
      }
      throw error;
    }
  }

  private async update(id: string, spec: TransitionSpec): Promise<JobRow> {
    return JobRowSchema.parse(await this.table.writeTransition(id, spec, "ALL_NEW"));
  }

  /** A lost claim, unless the row is running under this same claim's token (an earlier try took effect). */
  private ownClaimOr(row: JobRow | undefined, token: string | undefined): ClaimOutcome {
    if (row && token !== undefined && isOwnClaim(row, token) && !this.isExpired(row)) {
      return { claimed: true, job: row };
    }
    return { claimed: false, job: row };
  }

  private isExpired(row: JobRow): boolean {
    return row.expiresAt <= epochSeconds(this.clock.now());
  }
}
