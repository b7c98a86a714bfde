import type { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { JOB_TABLE } from "../../config/table-schema.js";
import { type JobRow, JobRowSchema } from "../../domain/job.js";
import type { Item, TransactPut, TransactUpdate } from "./conditions.js";

/** The row field DynamoDB's TTL reads: this fails to compile if the two ever part. */
export const TTL_FIELD: keyof JobRow & typeof JOB_TABLE.ttlAttribute = JOB_TABLE.ttlAttribute;

/** A new job's item: an open job carries `activeOwner`, the key of the active-jobs index. */
export function newJobItem(row: JobRow): Item {
  return { ...row, activeOwner: row.owner };
}

/** A new job's PutItem: never over another row with its id. */
export function newJobPut(tableName: string, row: JobRow): TransactPut {
  return {
    TableName: tableName,
    Item: newJobItem(row),
    ConditionExpression: "attribute_not_exists(#id)",
    ExpressionAttributeNames: { "#id": JOB_TABLE.partitionKey },
  };
}

/** A new job's item written with UpdateItem (the worker may not PutItem): an update of a missing key creates it. */
export function newJobUpdate(tableName: string, row: JobRow): TransactUpdate {
  const { [JOB_TABLE.partitionKey]: id, ...fields } = newJobItem(row);
  const entries = Object.entries(fields);
  return {
    TableName: tableName,
    Key: { [JOB_TABLE.partitionKey]: id },
    UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :f${i}`).join(", ")}`,
    ConditionExpression: "attribute_not_exists(#id)",
    ExpressionAttributeNames: {
      "#id": JOB_TABLE.partitionKey,
      ...Object.fromEntries(entries.map(([name], i) => [`#f${i}`, name])),
    },
    ExpressionAttributeValues: Object.fromEntries(entries.map(([, value], i) => [`:f${i}`, value])),
  };
}

/** The job row an item holds, parsed; helper rows (idempotency records, start counters) carry no owner and hold none. */
export function jobRowOf(item: Item | undefined): JobRow | undefined {
  return item === undefined || item.owner === undefined ? undefined : JobRowSchema.parse(item);
}

/** The row as it was when a write lost its condition (`ReturnValuesOnConditionCheckFailure: "ALL_OLD"`). */
export function rowFromConditionFailure(error: ConditionalCheckFailedException): JobRow | undefined {
  const parsed = JobRowSchema.safeParse(error.Item ? unmarshall(error.Item) : undefined);
  return parsed.success ? parsed.data : undefined;
}
