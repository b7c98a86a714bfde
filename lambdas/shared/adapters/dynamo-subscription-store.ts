import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import { SUBSCRIPTION_TABLE } from "../config/subscription-table.js";
import { type EventSubscription, EventSubscriptionSchema } from "../domain/events.js";
import { epochSeconds } from "../domain/job.js";
import { type Clock, type EventSubscriptionStore, systemClock } from "../domain/ports.js";

export interface DynamoSubscriptionStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly clock?: Clock;
}

const { partitionKey, sortKey, ttlAttribute } = SUBSCRIPTION_TABLE;

/**
 * Subscriptions in their own table, one partition per caller (see SUBSCRIPTION_TABLE). Reads are
 * consistent and skip expired items, which DynamoDB's TTL may keep for a while; every item is
 * parsed on the way out, so a malformed one fails loudly instead of reaching a delivery.
 */
export class DynamoSubscriptionStore implements EventSubscriptionStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly clock: Clock;

  constructor(private readonly options: DynamoSubscriptionStoreOptions) {
    this.documents = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.clock = options.clock ?? systemClock;
  }

  async get(owner: string, id: string): Promise<EventSubscription | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.options.tableName, Key: keyOf(owner, id), ConsistentRead: true }),
    );
    const row = Item === undefined ? undefined : parse(Item);
    return row !== undefined && this.live(row) ? row : undefined;
  }

  async listActive(owner: string): Promise<EventSubscription[]> {
    const rows: EventSubscription[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.documents.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: "#pk = :pk",
          FilterExpression: "#ttl > :now",
          ExpressionAttributeNames: { "#pk": partitionKey, "#ttl": ttlAttribute },
          ExpressionAttributeValues: { ":pk": partitionOf(owner), ":now": epochSeconds(this.clock.now()) },
          ConsistentRead: true,
          ...(start !== undefined ? { ExclusiveStartKey: start } : {}),
        }),
      );
      rows.push(...(page.Items ?? []).map(parse));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return rows;
  }

  async put(subscription: EventSubscription): Promise<void> {
    const row = EventSubscriptionSchema.parse(subscription);
    await this.documents.send(
      new PutCommand({ TableName: this.options.tableName, Item: { ...keyOf(row.owner, row.id), ...row } }),
    );
  }

  async remove(owner: string, id: string): Promise<boolean> {
    const { Attributes } = await this.documents.send(
      new DeleteCommand({
        TableName: this.options.tableName,
        Key: keyOf(owner, id),
        ReturnValues: "ALL_OLD",
      }),
    );
    return Attributes !== undefined && this.live(parse(Attributes));
  }

  private live(row: EventSubscription): boolean {
    return row.expiresAt > epochSeconds(this.clock.now());
  }
}

/** The caller's partition: prefixed, so the key space can hold other item kinds later. */
function partitionOf(owner: string): string {
  return `caller#${owner}`;
}

function keyOf(owner: string, id: string): Record<string, string> {
  return { [partitionKey]: partitionOf(owner), [sortKey]: id };
}

function parse(item: Record<string, unknown>): EventSubscription {
  const { [partitionKey]: _pk, [sortKey]: _sk, ...row } = item;
  return EventSubscriptionSchema.parse(row);
}
