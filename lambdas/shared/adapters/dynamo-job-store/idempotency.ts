import { JOB_TABLE } from "../../config/table-schema.js";
import type { IdempotencyRecord } from "../../domain/idempotent-start.js";
import { epochSeconds } from "../../domain/job.js";
import type { NewJob } from "../../domain/ports.js";
import { sha256 } from "../../domain/sha256.js";
import type { Item, TransactPut, TransactUpdate } from "./conditions.js";
import { TTL_FIELD } from "./row-codec.js";

/*
 * Idempotency records: helper rows of the job table (`idempotency#…`, no `owner`, so never in the
 * owner index) that hold an owner's key for the job it started, until the job expires. Written in
 * one transaction with the job's row. Whether a repeated start is the same request is decided in
 * domain/idempotent-start.ts.
 */

/** A start that names an idempotency key. */
export type KeyedJob = NewJob & { readonly idempotencyKey: string };

/** The record's key: the owner and the key hashed together, so neither shows in the clear. */
export function idempotencyRecordId(owner: string, key: string): string {
  return `idempotency#${sha256(JSON.stringify([owner, key]), "base64url")}`;
}

// An expired record that DynamoDB has not deleted yet no longer holds the key.
const FREE_KEY = "attribute_not_exists(#id) OR #expiresAt <= :nowSeconds";

/** The record's PutItem in a start's transaction. */
export function idempotencyRecordPut(tableName: string, job: KeyedJob, now: number): TransactPut {
  return {
    TableName: tableName,
    Item: {
      id: idempotencyRecordId(job.owner, job.idempotencyKey),
      jobId: job.id,
      inputHash: job.inputHash,
      [TTL_FIELD]: job.expiresAt,
    },
    ConditionExpression: FREE_KEY,
    ExpressionAttributeNames: {
      "#id": JOB_TABLE.partitionKey,
      "#expiresAt": JOB_TABLE.ttlAttribute,
    },
    ExpressionAttributeValues: { ":nowSeconds": epochSeconds(now) },
  };
}

/** The same record as an UpdateItem, for an adopt (the worker may not PutItem). */
export function idempotencyRecordUpdate(tableName: string, job: KeyedJob, now: number): TransactUpdate {
  return {
    TableName: tableName,
    Key: { [JOB_TABLE.partitionKey]: idempotencyRecordId(job.owner, job.idempotencyKey) },
    UpdateExpression: "SET #jobId = :jobId, #inputHash = :inputHash, #expiresAt = :expiresAt",
    ConditionExpression: FREE_KEY,
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
  };
}

/** The record an item holds. */
export function idempotencyRecordOf(item: Item | undefined): IdempotencyRecord | undefined {
  if (item === undefined) return undefined;
  return { jobId: String(item.jobId), inputHash: String(item.inputHash), expiresAt: Number(item.expiresAt) };
}
