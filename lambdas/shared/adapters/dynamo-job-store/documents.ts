import { ConditionalCheckFailedException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { JOB_TABLE } from "../../config/table-schema.js";
import { epochSeconds } from "../../domain/job.js";
import { type Clock, systemClock } from "../../domain/ports.js";
import type { Item, TransitionSpec, UpdateParts } from "./conditions.js";

export interface DynamoJobStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly clock?: Clock;
}

/** The job table as its store's parts reach it: one document client, the table's name, the clock. */
export class JobTableDocuments {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly clock: Clock;

  constructor(options: DynamoJobStoreOptions) {
    this.client = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
  }

  /** A consistent read of one item: a job row or a helper row. */
  async getItem(id: string): Promise<Item | undefined> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [JOB_TABLE.partitionKey]: id },
        ConsistentRead: true,
      }),
    );
    return result.Item;
  }

  /**
   * The fenced write every `TransitionSpec` goes through: never onto an unknown id, with the row's
   * time; a lost condition answers the row as it was.
   */
  writeTransition(
    id: string,
    spec: TransitionSpec,
    returnValues: "ALL_NEW" | "NONE" = "NONE",
  ): Promise<Item | undefined> {
    const now = spec.now ?? this.clock.now();
    const parts: UpdateParts = {
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
    };
    return this.update(id, parts, returnValues);
  }

  /** One UpdateItem of the row `id`; with `returnValues`, a lost condition answers the row as it was. */
  async update(id: string, parts: UpdateParts, returnValues?: "ALL_NEW" | "NONE"): Promise<Item | undefined> {
    const result = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [JOB_TABLE.partitionKey]: id },
        ...parts,
        ...(returnValues === undefined
          ? {}
          : { ReturnValues: returnValues, ReturnValuesOnConditionCheckFailure: "ALL_OLD" }),
      }),
    );
    return result.Attributes;
  }
}

/** True when a conditional write landed, false when it lost its condition. */
export async function landed(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
