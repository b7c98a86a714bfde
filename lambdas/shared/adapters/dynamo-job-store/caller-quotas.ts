import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { JOB_TABLE } from "../../config/table-schema.js";
import { epochSeconds } from "../../domain/job.js";
import type { CallerQuotaStore } from "../../domain/ports.js";
import { sha256 } from "../../domain/sha256.js";
import { type Item, NOT_EXPIRED } from "./conditions.js";
import type { JobTableDocuments } from "./documents.js";

/**
 * The per-caller limits on the job table: open jobs are counted on the sparse active index (only
 * queued and running rows carry `activeOwner`), starts in per-minute counter rows (`starts#…`,
 * helper rows with no `owner`) that DynamoDB's TTL deletes after the next minute.
 */
export class DynamoCallerQuotas implements CallerQuotaStore {
  constructor(private readonly table: JobTableDocuments) {}

  async countActive(owner: string, atMost: number): Promise<number> {
    const index = JOB_TABLE.activeIndex;
    const nowSeconds = epochSeconds(this.table.clock.now());
    let count = 0;
    let startKey: Item | undefined;
    do {
      const page = await this.table.client.send(
        new QueryCommand({
          TableName: this.table.tableName,
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
    const minute = Math.floor((atMs ?? this.table.clock.now()) / 60_000);
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
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
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
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
}

/** The owner's per-minute start counter: a helper row, not a job; the owner only as a digest. */
function startsCounterId(owner: string, minute: number): string {
  return `starts#${sha256(owner, "base64url")}#${minute}`;
}
