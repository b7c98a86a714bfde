import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  type NativeAttributeValue,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { JOB_TABLE } from "../config/table-schema.js";
import { IdempotencyConflictError, JobNotFoundError, JobStateConflictError } from "../domain/errors.js";
import { epochSeconds, type JobError, type JobRow, JobRowSchema, type Progress } from "../domain/job.js";
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
import { sha256 } from "../domain/sha256.js";
import { decodeListCursor, encodeListCursor } from "./list-cursor.js";

type Item = Record<string, NativeAttributeValue>;

/** The row field DynamoDB's TTL reads: this fails to compile if the two ever part. */
const TTL_FIELD: keyof JobRow & typeof JOB_TABLE.ttlAttribute = JOB_TABLE.ttlAttribute;

const OPEN = { queued: "queued", running: "running" } as const;

/** Condition shared by every write that must not touch an expired row. */
const NOT_EXPIRED = "#expiresAt > :nowSeconds";

export interface DynamoJobStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly clock?: Clock;
}

/**
 * The job table on DynamoDB. Job rows are keyed by job id; two kinds of helper rows share the
 * table and carry no `owner`, so they never appear in the owner index: idempotency records
 * (`idempotency#…`) and per-minute start counters (`starts#…`).
 *
 * Over 300 lines: every conditional write of the job table is a method here, next to the
 * condition that fences it, so each state change reads in one place.
 */
export class DynamoJobStore implements JobStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly clock: Clock;

  constructor(options: DynamoJobStoreOptions) {
    this.documents = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
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
    const item = { ...row, activeOwner: job.owner };
    if (job.idempotencyKey === undefined) {
      try {
        await this.documents.send(
          new PutCommand({
            TableName: this.tableName,
            Item: item,
            ConditionExpression: "attribute_not_exists(#id)",
            ExpressionAttributeNames: { "#id": JOB_TABLE.partitionKey },
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        // The SDK's retry of a put whose first try took effect (its answer was lost) finds its own row.
        const existing = this.rowFromConditionFailure(error);
        if (!existing || !isSameJob(existing, job)) throw error;
        return { job: existing, created: true };
      }
      return { job: row, created: true };
    }

    const idempotencyId = idempotencyRecordId(job.owner, job.idempotencyKey);
    try {
      await this.documents.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  id: idempotencyId,
                  jobId: job.id,
                  inputHash: job.inputHash,
                  [TTL_FIELD]: job.expiresAt,
                },
                // An expired record that DynamoDB has not deleted yet no longer holds the key.
                ConditionExpression: "attribute_not_exists(#id) OR #expiresAt <= :nowSeconds",
                ExpressionAttributeNames: {
                  "#id": JOB_TABLE.partitionKey,
                  "#expiresAt": JOB_TABLE.ttlAttribute,
                },
                ExpressionAttributeValues: { ":nowSeconds": epochSeconds(now) },
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: item,
                ConditionExpression: "attribute_not_exists(#id)",
                ExpressionAttributeNames: { "#id": JOB_TABLE.partitionKey },
              },
            },
          ],
        }),
      );
      return { job: row, created: true };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      if (error.CancellationReasons?.[0]?.Code !== "ConditionalCheckFailed") throw error;
      const existing = await this.getItem(idempotencyId);
      if (!existing || existing.inputHash !== job.inputHash) {
        throw new IdempotencyConflictError(job.idempotencyKey);
      }
      const existingJob = await this.get(String(existing.jobId));
      if (!existingJob || existingJob.owner !== job.owner) {
        throw new IdempotencyConflictError(job.idempotencyKey);
      }
      return { job: existingJob, created: false };
    }
  }

  /** As `create`, with UpdateItem only (the worker may not PutItem): an update of a missing key creates it. */
  async adopt(job: NewJob): Promise<JobRow | undefined> {
    const now = this.clock.now();
    const timestamp = new Date(now).toISOString();
    const fields: Item = {
      type: job.type,
      owner: job.owner,
      status: OPEN.queued,
      inputJson: job.inputJson,
      inputHash: job.inputHash,
      ...(job.idempotencyKey !== undefined ? { idempotencyKey: job.idempotencyKey } : {}),
      attempt: 0,
      maxAttempts: job.maxAttempts,
      createdAt: timestamp,
      updatedAt: timestamp,
      [TTL_FIELD]: job.expiresAt,
      ...(job.notifications?.length ? { notifications: [...job.notifications] } : {}),
      activeOwner: job.owner,
    };
    const entries = Object.entries(fields);
    const rowUpdate = {
      TableName: this.tableName,
      Key: { [JOB_TABLE.partitionKey]: job.id },
      UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :f${i}`).join(", ")}`,
      ConditionExpression: "attribute_not_exists(#id)",
      ExpressionAttributeNames: {
        "#id": JOB_TABLE.partitionKey,
        ...Object.fromEntries(entries.map(([name], i) => [`#f${i}`, name])),
      },
      ExpressionAttributeValues: Object.fromEntries(entries.map(([, value], i) => [`:f${i}`, value])),
    };
    try {
      if (job.idempotencyKey === undefined) {
        await this.documents.send(new UpdateCommand(rowUpdate));
      } else {
        await this.documents.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: this.tableName,
                  Key: { [JOB_TABLE.partitionKey]: idempotencyRecordId(job.owner, job.idempotencyKey) },
                  UpdateExpression: "SET #jobId = :jobId, #inputHash = :inputHash, #expiresAt = :expiresAt",
                  ConditionExpression: "attribute_not_exists(#id) OR #expiresAt <= :nowSeconds",
                  ExpressionAttributeNames: {
                    "#id": JOB_TABLE.partitionKey,
                    "#jobId": "jobId",
                    "#inputHash": "inputHash",
                    "#expiresAt": JOB_TABLE.ttlAttribute,
                  },
                  ExpressionAttributeValues: {
                    ":jobId": job.id,
                    ":inputHash": job.inputHash,
                    ":expiresAt": job.expiresAt,
                    ":nowSeconds": epochSeconds(now),
                  },
                },
              },
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
    const record = await this.getItem(idempotencyRecordId(owner, idempotencyKey));
    if (!record || Number(record.expiresAt) <= epochSeconds(this.clock.now())) return undefined;
    const job = await this.get(String(record.jobId));
    return job?.owner === owner ? job : undefined;
  }

  async get(id: string): Promise<JobRow | undefined> {
    const item = await this.getItem(id);
    if (!item || item.owner === undefined) return undefined;
    const row = JobRowSchema.parse(item);
    return this.isExpired(row) ? undefined : row;
  }

  async claim(id: string, leaseMs: number, token?: string): Promise<ClaimOutcome> {
    const now = this.clock.now();
    try {
      const row = await this.update(id, {
        update: `SET #status = :running, #attempt = #attempt + :one, #lease = :lease, #updatedAt = :now, #startedAt = if_not_exists(#startedAt, :now) ${tokenWrite(token)}`,
        // A submitted job has its external work under way: submitting again would start it twice.
        condition: `(#status = :queued OR (#status = :running AND #lease < :nowMs)) AND attribute_not_exists(#checkSeq) AND ${NOT_EXPIRED}`,
        names: {
          "#attempt": "attempt",
          "#lease": "leaseExpiresAt",
          "#startedAt": "startedAt",
          "#checkSeq": "checkSeq",
          "#claimToken": "claimToken",
        },
        values: {
          ":running": OPEN.running,
          ":queued": OPEN.queued,
          ":one": 1,
          ":lease": now + leaseMs,
          ":nowMs": now,
          ...(token !== undefined ? { ":token": token } : {}),
        },
        now,
      });
      return { claimed: true, job: row };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return this.ownClaimOr(this.rowFromConditionFailure(error), token);
    }
  }

  async claimCheck(id: string, check: number, leaseMs: number, token?: string): Promise<ClaimOutcome> {
    const now = this.clock.now();
    try {
      const row = await this.update(id, {
        update: `SET #lease = :lease, #updatedAt = :now ${tokenWrite(token)}`,
        condition: `#status = :running AND #checkSeq = :check AND (attribute_not_exists(#lease) OR #lease < :nowMs) AND ${NOT_EXPIRED}`,
        names: { "#lease": "leaseExpiresAt", "#checkSeq": "checkSeq", "#claimToken": "claimToken" },
        values: {
          ":running": OPEN.running,
          ":check": check,
          ":lease": now + leaseMs,
          ":nowMs": now,
          ...(token !== undefined ? { ":token": token } : {}),
        },
        now,
      });
      return { claimed: true, job: row };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const row = this.rowFromConditionFailure(error);
      return row?.checkSeq === check ? this.ownClaimOr(row, token) : { claimed: false, job: row };
    }
  }

  async renewLease(id: string, fence: LeaseFence, leaseMs: number): Promise<ClaimOutcome> {
    const now = this.clock.now();
    try {
      const result = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [JOB_TABLE.partitionKey]: id },
          // Not updatedAt: a renewal changes nothing a caller sees.
          UpdateExpression: "SET #lease = :lease",
          ConditionExpression: `attribute_exists(#id) AND ${ownedByRun} AND #claimToken = :token AND ${NOT_EXPIRED}`,
          ExpressionAttributeNames: {
            "#id": JOB_TABLE.partitionKey,
            "#status": "status",
            "#attempt": "attempt",
            "#lease": "leaseExpiresAt",
            "#claimToken": "claimToken",
            "#expiresAt": JOB_TABLE.ttlAttribute,
          },
          ExpressionAttributeValues: {
            ":running": OPEN.running,
            ":attempt": fence.attempt,
            ":token": fence.token,
            ":lease": now + leaseMs,
            ":nowSeconds": epochSeconds(now),
          },
          ReturnValues: "ALL_NEW",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { claimed: true, job: JobRowSchema.parse(result.Attributes) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { claimed: false, job: this.rowFromConditionFailure(error) };
    }
  }

  recordSubmit(id: string, attempt: number, work: SubmittedWork): Promise<JobRow> {
    return this.conditional(id, "record the submitted work", {
      update:
        "SET #stateJson = :state, #checkSeq = :one, #nextCheckAt = :nextCheckAt, #deadlineAt = :deadlineAt, #submittedAt = :now, #lease = :zero, #updatedAt = :now REMOVE #lastError",
      condition: `${ownedByRun} AND attribute_not_exists(#checkSeq) AND ${NOT_EXPIRED}`,
      names: {
        "#attempt": "attempt",
        "#stateJson": "stateJson",
        "#checkSeq": "checkSeq",
        "#nextCheckAt": "nextCheckAt",
        "#deadlineAt": "deadlineAt",
        "#submittedAt": "submittedAt",
        "#lease": "leaseExpiresAt",
        "#lastError": "lastError",
      },
      values: {
        ":running": OPEN.running,
        ":attempt": attempt,
        ":state": work.stateJson,
        ":one": 1,
        ":nextCheckAt": work.nextCheckAt,
        ":deadlineAt": work.deadlineAt,
        ":zero": 0,
      },
    });
  }

  recordCheck(id: string, fence: CheckFence, pending: PendingCheck): Promise<JobRow> {
    const sets = [
      "#checkSeq = #checkSeq + :one",
      "#nextCheckAt = :nextCheckAt",
      "#lease = :zero",
      "#updatedAt = :now",
    ];
    const names: Record<string, string> = {
      "#nextCheckAt": "nextCheckAt",
      "#lastError": "lastError",
      "#lease": "leaseExpiresAt",
    };
    const values: Item = { ":one": 1, ":nextCheckAt": pending.nextCheckAt, ":zero": 0 };
    const optional = [
      ["stateJson", pending.stateJson],
      ["progress", pending.progress],
      ["estimatedCompletion", pending.estimatedCompletion],
    ] as const;
    for (const [attribute, value] of optional) {
      if (value === undefined) continue;
      sets.push(`#${attribute} = :${attribute}`);
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = value;
    }
    return this.conditional(id, `record check ${fence.check}`, {
      update: `SET ${sets.join(", ")} REMOVE #lastError`,
      ...fencedByCheck(fence, names, values),
    });
  }

  retryCheck(id: string, fence: CheckFence, error: JobError): Promise<JobRow> {
    return this.conditional(id, `release check ${fence.check} for a retry`, {
      update: "SET #attempt = #attempt + :one, #lastError = :error, #lease = :zero, #updatedAt = :now",
      ...fencedByCheck(
        fence,
        { "#lastError": "lastError", "#lease": "leaseExpiresAt" },
        { ":one": 1, ":error": error, ":zero": 0 },
      ),
    });
  }

  async markCancelCalled(id: string): Promise<boolean> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [JOB_TABLE.partitionKey]: id },
          // Not updatedAt: an ended job's visible fields never change.
          UpdateExpression: "SET #cancelCalledAt = :now",
          ConditionExpression:
            "attribute_exists(#id) AND attribute_not_exists(#cancelCalledAt) AND (#status = :cancelled OR #status = :failed)",
          ExpressionAttributeNames: {
            "#id": JOB_TABLE.partitionKey,
            "#cancelCalledAt": "cancelCalledAt",
            "#status": "status",
          },
          ExpressionAttributeValues: {
            ":now": new Date(this.clock.now()).toISOString(),
            ":cancelled": "cancelled",
            ":failed": "failed",
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async releaseFailedCancel(id: string, maxCalls: number): Promise<boolean> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [JOB_TABLE.partitionKey]: id },
          UpdateExpression: "REMOVE #cancelCalledAt ADD #cancelFailures :one",
          ConditionExpression:
            "attribute_exists(#id) AND attribute_exists(#cancelCalledAt) AND (attribute_not_exists(#cancelFailures) OR #cancelFailures < :lastRetry)",
          ExpressionAttributeNames: {
            "#id": JOB_TABLE.partitionKey,
            "#cancelCalledAt": "cancelCalledAt",
            "#cancelFailures": "cancelFailures",
          },
          ExpressionAttributeValues: { ":one": 1, ":lastRetry": maxCalls - 1 },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async progress(id: string, attempt: number, progress: Progress): Promise<boolean> {
    try {
      await this.write(id, {
        update: "SET #progress = :progress, #updatedAt = :now",
        condition: `${ownedByRun} AND ${NOT_EXPIRED} AND (attribute_not_exists(#progress) OR #progress.#current <= :current)`,
        names: { "#attempt": "attempt", "#progress": "progress", "#current": "current" },
        values: {
          ":running": OPEN.running,
          ":attempt": attempt,
          ":progress": progress,
          ":current": progress.current,
        },
      });
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  complete(id: string, attempt: number, resultJson: string, check?: number): Promise<JobRow> {
    return this.finish(id, attempt, "completed", "resultJson", resultJson, check);
  }

  completeWithResultRef(id: string, attempt: number, ref: ResultRef, check?: number): Promise<JobRow> {
    return this.finish(id, attempt, "completed", "resultRef", ref, check);
  }

  fail(id: string, attempt: number, error: JobError, check?: number): Promise<JobRow> {
    return this.finish(id, attempt, "failed", "error", error, check);
  }

  async failOpen(id: string, error: JobError): Promise<JobRow> {
    return this.conditional(id, "fail an open job", {
      update:
        "SET #status = :failed, #error = :error, #finishedAt = :now, #updatedAt = :now REMOVE #activeOwner, #lease, #nextCheckAt",
      condition: `(#status = :queued OR #status = :running) AND ${NOT_EXPIRED}`,
      names: {
        "#error": "error",
        "#finishedAt": "finishedAt",
        "#activeOwner": "activeOwner",
        "#lease": "leaseExpiresAt",
        "#nextCheckAt": "nextCheckAt",
      },
      values: { ":failed": "failed", ":error": error, ":queued": OPEN.queued, ":running": OPEN.running },
    });
  }

  releaseForRetry(id: string, attempt: number, error: JobError): Promise<JobRow> {
    return this.conditional(id, "release the job for a retry", {
      update: "SET #lastError = :error, #lease = :zero, #updatedAt = :now",
      condition: `${ownedByRun} AND ${NOT_EXPIRED}`,
      names: { "#attempt": "attempt", "#lastError": "lastError", "#lease": "leaseExpiresAt" },
      values: { ":running": OPEN.running, ":attempt": attempt, ":error": error, ":zero": 0 },
    });
  }

  async cancel(id: string, owner: string): Promise<JobRow> {
    try {
      return await this.update(id, {
        update:
          "SET #status = :cancelled, #finishedAt = :now, #updatedAt = :now, #error = :error REMOVE #activeOwner, #lease, #nextCheckAt",
        condition: `#owner = :owner AND (#status = :queued OR #status = :running) AND ${NOT_EXPIRED}`,
        names: {
          "#owner": "owner",
          "#finishedAt": "finishedAt",
          "#error": "error",
          "#activeOwner": "activeOwner",
          "#lease": "leaseExpiresAt",
          "#nextCheckAt": "nextCheckAt",
        },
        values: {
          ":cancelled": "cancelled",
          ":owner": owner,
          ":queued": OPEN.queued,
          ":running": OPEN.running,
          ":error": { code: "cancelled", message: "The job was cancelled by its caller.", retryable: false },
        },
      });
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const row = this.rowFromConditionFailure(error);
      // Another caller's job, an unknown id and an expired job must be indistinguishable.
      if (!row || row.owner !== owner || this.isExpired(row)) throw new JobNotFoundError(id);
      return row;
    }
  }

  async listByOwner(owner: string, query: ListQuery): Promise<JobPage> {
    const index = JOB_TABLE.ownerIndex;
    let startKey: Item | undefined =
      query.cursor === undefined ? undefined : decodeListCursor(query.cursor, owner);
    const jobs: JobRow[] = [];
    const nowSeconds = epochSeconds(this.clock.now());
    do {
      const names: Record<string, string> = {
        "#owner": index.partitionKey,
        "#expiresAt": JOB_TABLE.ttlAttribute,
      };
      const values: Item = { ":owner": owner, ":nowSeconds": nowSeconds };
      let filter = NOT_EXPIRED;
      if (query.status !== undefined) {
        names["#status"] = "status";
        values[":status"] = query.status;
        filter += " AND #status = :status";
      }
      const page = await this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index.name,
          KeyConditionExpression: "#owner = :owner",
          FilterExpression: filter,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          Limit: query.limit - jobs.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) jobs.push(JobRowSchema.parse(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined && jobs.length < query.limit);
    return startKey === undefined ? { jobs } : { jobs, nextCursor: encodeListCursor(startKey) };
  }

  async countActive(owner: string, atMost: number): Promise<number> {
    const index = JOB_TABLE.activeIndex;
    const nowSeconds = epochSeconds(this.clock.now());
    let count = 0;
    let startKey: Item | undefined;
    do {
      const page = await this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index.name,
          KeyConditionExpression: "#activeOwner = :owner",
          FilterExpression: NOT_EXPIRED,
          ExpressionAttributeNames: {
            "#activeOwner": index.partitionKey,
            "#expiresAt": JOB_TABLE.ttlAttribute,
          },
          ExpressionAttributeValues: { ":owner": owner, ":nowSeconds": nowSeconds },
          Select: "COUNT",
          Limit: atMost,
          ExclusiveStartKey: startKey,
        }),
      );
      count += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined && count < atMost);
    return Math.min(count, atMost);
  }

  async tryRecordStart(owner: string, limit: number, atMs?: number): Promise<boolean> {
    const minute = Math.floor((atMs ?? this.clock.now()) / 60_000);
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [JOB_TABLE.partitionKey]: startsCounterId(owner, minute) },
          UpdateExpression: "ADD #starts :one SET #expiresAt = :expiresAt",
          ConditionExpression: "attribute_not_exists(#starts) OR #starts < :limit",
          ExpressionAttributeNames: { "#starts": "starts", "#expiresAt": JOB_TABLE.ttlAttribute },
          ExpressionAttributeValues: { ":one": 1, ":limit": limit, ":expiresAt": (minute + 2) * 60 },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async releaseStart(owner: string, atMs: number): Promise<void> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [JOB_TABLE.partitionKey]: startsCounterId(owner, Math.floor(atMs / 60_000)) },
          UpdateExpression: "ADD #starts :minusOne",
          // Never below zero, and never a counter where none was.
          ConditionExpression: "#starts > :zero",
          ExpressionAttributeNames: { "#starts": "starts" },
          ExpressionAttributeValues: { ":minusOne": -1, ":zero": 0 },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** Ends the run that owns the job, writing its result or error beside the final status. */
  private finish(
    id: string,
    attempt: number,
    status: "completed" | "failed",
    outcomeAttribute: "resultJson" | "resultRef" | "error",
    outcome: NativeAttributeValue,
    check?: number,
  ): Promise<JobRow> {
    const names = {
      "#outcome": outcomeAttribute,
      "#finishedAt": "finishedAt",
      "#activeOwner": "activeOwner",
      "#lease": "leaseExpiresAt",
      "#lastError": "lastError",
      "#nextCheckAt": "nextCheckAt",
    };
    const values = { ":outcome": outcome, ":final": status };
    const fence =
      check === undefined
        ? {
            condition: `${ownedByRun} AND ${NOT_EXPIRED}`,
            names: { ...names, "#attempt": "attempt" },
            values: { ...values, ":running": OPEN.running, ":attempt": attempt },
          }
        : fencedByCheck({ attempt, check }, names, values);
    return this.conditional(id, `mark the job ${status}`, {
      update: `SET #outcome = :outcome, #status = :final, #finishedAt = :now, #updatedAt = :now REMOVE #activeOwner, #lease, #lastError, #nextCheckAt`,
      ...fence,
    });
  }

  /** An update whose lost condition means the job moved on without this writer. */
  private async conditional(id: string, attemptedChange: string, spec: UpdateSpec): Promise<JobRow> {
    try {
      return await this.update(id, spec);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new JobStateConflictError(id, attemptedChange, { cause: error });
      }
      throw error;
    }
  }

  private async update(id: string, spec: UpdateSpec): Promise<JobRow> {
    return JobRowSchema.parse(await this.write(id, spec, "ALL_NEW"));
  }

  private async write(
    id: string,
    spec: UpdateSpec,
    returnValues: "ALL_NEW" | "NONE" = "NONE",
  ): Promise<Item | undefined> {
    const now = spec.now ?? this.clock.now();
    const result = await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [JOB_TABLE.partitionKey]: id },
        UpdateExpression: spec.update,
        // attribute_exists keeps an update from creating a row for an unknown id.
        ConditionExpression: `attribute_exists(#id) AND ${spec.condition}`,
        ExpressionAttributeNames: {
          "#id": JOB_TABLE.partitionKey,
          "#status": "status",
          "#updatedAt": "updatedAt",
          "#expiresAt": JOB_TABLE.ttlAttribute,
          ...spec.names,
        },
        ExpressionAttributeValues: {
          ":now": new Date(now).toISOString(),
          ":nowSeconds": epochSeconds(now),
          ...spec.values,
        },
        ReturnValues: returnValues,
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return result.Attributes;
  }

  private async getItem(id: string): Promise<Item | undefined> {
    const result = await this.documents.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [JOB_TABLE.partitionKey]: id },
        ConsistentRead: true,
      }),
    );
    return result.Item;
  }

  private rowFromConditionFailure(error: ConditionalCheckFailedException): JobRow | undefined {
    const parsed = JobRowSchema.safeParse(error.Item ? unmarshall(error.Item) : undefined);
    return parsed.success ? parsed.data : undefined;
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

interface UpdateSpec {
  readonly update: string;
  readonly condition: string;
  readonly names: Record<string, string>;
  readonly values: Item;
  readonly now?: number;
}

const ownedByRun = "#status = :running AND #attempt = :attempt";

/** A claim with a token writes it; one without removes the previous claim's. */
function tokenWrite(token: string | undefined): string {
  return token === undefined ? "REMOVE #claimToken" : ", #claimToken = :token";
}

/** A write that only check number `fence.check` of the attempt that owns the job may make. */
function fencedByCheck(
  fence: CheckFence,
  names: Record<string, string>,
  values: Item,
): Pick<UpdateSpec, "condition" | "names" | "values"> {
  return {
    condition: `${ownedByRun} AND #checkSeq = :check AND ${NOT_EXPIRED}`,
    names: { ...names, "#attempt": "attempt", "#checkSeq": "checkSeq" },
    values: { ...values, ":running": OPEN.running, ":attempt": fence.attempt, ":check": fence.check },
  };
}

function ownerDigest(owner: string): string {
  return sha256(owner, "base64url");
}

function idempotencyRecordId(owner: string, key: string): string {
  return `idempotency#${sha256(JSON.stringify([owner, key]), "base64url")}`;
}

/** The owner's per-minute start counter: a helper row, not a job. */
function startsCounterId(owner: string, minute: number): string {
  return `starts#${ownerDigest(owner)}#${minute}`;
}
