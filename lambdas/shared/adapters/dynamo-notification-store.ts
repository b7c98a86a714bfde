import { randomUUID } from "node:crypto";
import { ConditionalCheckFailedException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { JOB_TABLE } from "../config/table-schema.js";
import type { JobRow } from "../domain/job.js";
import { checkedTargetIndex } from "../domain/notifications.js";
import type { AttemptRecord, AttemptTarget, EventAttemptFence, NotificationStore } from "../domain/ports.js";
import { type Clock, type JobStore, systemClock } from "../domain/ports.js";

export interface DynamoNotificationStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Reads rows (parsed, expiry applied) the way every other reader does. */
  readonly jobs: Pick<JobStore, "get">;
  readonly clock?: Clock;
}

/**
 * The notification state inside job rows. Its writes touch only `notifications` and
 * `notificationsQueuedAt`, never the job's status, result or timestamps.
 */
export class DynamoNotificationStore implements NotificationStore, EventAttemptFence {
  private readonly documents: DynamoDBDocumentClient;
  private readonly clock: Clock;

  constructor(private readonly options: DynamoNotificationStoreOptions) {
    this.documents = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.clock = options.clock ?? systemClock;
  }

  get(id: string): Promise<JobRow | undefined> {
    return this.options.jobs.get(id);
  }

  async markNotificationsQueued(id: string): Promise<boolean> {
    return this.conditionalUpdate({
      TableName: this.options.tableName,
      Key: { [JOB_TABLE.partitionKey]: id },
      UpdateExpression: "SET #queuedAt = :now",
      ConditionExpression: "attribute_exists(#id) AND attribute_not_exists(#queuedAt)",
      ExpressionAttributeNames: { "#id": JOB_TABLE.partitionKey, "#queuedAt": "notificationsQueuedAt" },
      ExpressionAttributeValues: { ":now": new Date(this.clock.now()).toISOString() },
    });
  }

  /**
   * Every write to a target's attempt (a claim, a record, a give-up) leaves a token of its own: when
   * the write lands but its answer is lost, the SDK's next try of the same call finds its own effect
   * and succeeds, where another worker's write is refused.
   */
  async claimAttempt(id: string, target: AttemptTarget, leaseMs: number): Promise<boolean> {
    const now = this.clock.now();
    const path = targetPath(target);
    return this.conditionalUpdate({
      TableName: this.options.tableName,
      Key: { [JOB_TABLE.partitionKey]: id },
      UpdateExpression: `SET ${path}.#lease = :leaseUntil, ${path}.#token = :token`,
      ConditionExpression: `${OWNS_ATTEMPT(path)} AND (attribute_not_exists(${path}.#lease) OR ${path}.#lease < :nowMs OR ${path}.#token = :token)`,
      ExpressionAttributeNames: { ...TARGET_NAMES, "#lease": "attemptLeaseUntil", "#token": "attemptToken" },
      ExpressionAttributeValues: {
        ...attemptValues(target),
        ":leaseUntil": now + leaseMs,
        ":nowMs": now,
        ":token": randomUUID(),
      },
    });
  }

  async recordAttempt(id: string, target: AttemptTarget, record: AttemptRecord): Promise<boolean> {
    const path = targetPath(target);
    const sets = [
      `${path}.#status = :status`,
      `${path}.#attempts = :next`,
      `${path}.#lastAttemptAt = :now`,
      `${path}.#token = :token`,
    ];
    const names: Record<string, string> = {
      ...TARGET_NAMES,
      "#lastAttemptAt": "lastAttemptAt",
      "#lease": "attemptLeaseUntil",
      "#token": "attemptToken",
    };
    const values: Record<string, unknown> = {
      ...attemptValues(target),
      ":status": record.status,
      ":next": target.expectedAttempts + 1,
      ":now": new Date(this.clock.now()).toISOString(),
      ":token": randomUUID(),
    };
    if (record.lastError !== undefined) {
      sets.push(`${path}.#lastError = :lastError`);
      names["#lastError"] = "lastError";
      values[":lastError"] = record.lastError;
    }
    return this.conditionalUpdate({
      TableName: this.options.tableName,
      Key: { [JOB_TABLE.partitionKey]: id },
      UpdateExpression: `SET ${sets.join(", ")} REMOVE ${path}.#lease`,
      ConditionExpression: `(${OWNS_ATTEMPT(path)}) OR ${path}.#token = :token`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  async giveUp(id: string, target: AttemptTarget, lastError: string): Promise<boolean> {
    const path = targetPath(target);
    return this.conditionalUpdate({
      TableName: this.options.tableName,
      Key: { [JOB_TABLE.partitionKey]: id },
      UpdateExpression: `SET ${path}.#status = :failed, ${path}.#lastError = :lastError, ${path}.#token = :token REMOVE ${path}.#lease`,
      ConditionExpression: `(${OWNS_ATTEMPT(path)}) OR ${path}.#token = :token`,
      ExpressionAttributeNames: {
        ...TARGET_NAMES,
        "#lastError": "lastError",
        "#lease": "attemptLeaseUntil",
        "#token": "attemptToken",
      },
      ExpressionAttributeValues: {
        ...attemptValues(target),
        ":failed": "failed",
        ":lastError": lastError,
        ":token": randomUUID(),
      },
    });
  }

  /** As `claimAttempt`: the claim's own token lets the SDK's next try of a landed claim succeed. */
  async claimEventAttempt(
    jobId: string,
    eventId: string,
    attempt: number,
    leaseMs: number,
  ): Promise<boolean> {
    const now = this.clock.now();
    const token = randomUUID();
    return this.conditionalUpdate({
      TableName: this.options.tableName,
      Key: { [JOB_TABLE.partitionKey]: jobId },
      UpdateExpression: "SET #event = :claim",
      ConditionExpression:
        "attribute_exists(#id) AND (attribute_not_exists(#event) OR #event.#attempt < :attempt OR (#event.#attempt = :attempt AND (#event.#lease < :nowMs OR #event.#token = :token)))",
      ExpressionAttributeNames: {
        "#id": JOB_TABLE.partitionKey,
        "#event": eventAttribute(eventId),
        "#attempt": "attempt",
        "#lease": "leaseUntil",
        "#token": "claim",
      },
      ExpressionAttributeValues: {
        ":claim": { attempt, leaseUntil: now + leaseMs, claim: token },
        ":attempt": attempt,
        ":nowMs": now,
        ":token": token,
      },
    });
  }

  async settleEventAttempt(jobId: string, eventId: string, attempt: number): Promise<void> {
    await this.conditionalUpdate({
      TableName: this.options.tableName,
      Key: { [JOB_TABLE.partitionKey]: jobId },
      UpdateExpression: "SET #event.#lease = :made",
      ConditionExpression: "#event.#attempt = :attempt",
      ExpressionAttributeNames: {
        "#event": eventAttribute(eventId),
        "#attempt": "attempt",
        "#lease": "leaseUntil",
      },
      ExpressionAttributeValues: { ":attempt": attempt, ":made": ATTEMPT_MADE },
    });
  }

  private async conditionalUpdate(input: ConstructorParameters<typeof UpdateCommand>[0]): Promise<boolean> {
    try {
      await this.documents.send(new UpdateCommand(input));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

const TARGET_NAMES = {
  "#notifications": "notifications",
  "#status": "status",
  "#attempts": "attempts",
  "#webhookId": "webhookId",
} as const;

/** The target is the one named, still pending, and at the attempt the writer expects. */
const OWNS_ATTEMPT = (path: string): string =>
  `${path}.#webhookId = :webhookId AND ${path}.#attempts = :expected AND ${path}.#status = :pending`;

function attemptValues(target: AttemptTarget): Record<string, unknown> {
  return { ":webhookId": target.webhookId, ":expected": target.expectedAttempts, ":pending": "pending" };
}

/** A list index cannot be an expression value; it is a small integer, checked. */
function targetPath(target: AttemptTarget): string {
  return `#notifications[${checkedTargetIndex(target.index)}]`;
}

/** A made attempt's lease never lapses, so no repeat of it is ever claimed. */
const ATTEMPT_MADE = Number.MAX_SAFE_INTEGER;

/** One top-level attribute per event of the job (`eventAttempt_evt_…`): no parent map to create first. */
function eventAttribute(eventId: string): string {
  if (!/^evt_[0-9a-f]{40}$/.test(eventId)) throw new RangeError(`not an event id: ${eventId}`);
  return `eventAttempt_${eventId}`;
}
