import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { JOB_TABLE } from "../../config/table-schema.js";
import { epochSeconds, type JobRow, JobRowSchema } from "../../domain/job.js";
import type { JobPage, ListQuery } from "../../domain/ports.js";
import { decodeListCursor, encodeListCursor } from "../list-cursor.js";
import { type Item, NOT_EXPIRED } from "./conditions.js";
import type { JobTableDocuments } from "./documents.js";

/**
 * An owner's jobs, newest first, from the owner index (helper rows carry no `owner`, so they are
 * not in it): pages are read until `query.limit` jobs are found or the index ends.
 */
export async function listOwnerJobs(
  table: JobTableDocuments,
  owner: string,
  query: ListQuery,
): Promise<JobPage> {
  const index = JOB_TABLE.ownerIndex;
  let startKey: Item | undefined =
    query.cursor === undefined ? undefined : decodeListCursor(query.cursor, owner);
  const jobs: JobRow[] = [];
  const nowSeconds = epochSeconds(table.clock.now());
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
    const page = await table.client.send(
      new QueryCommand({
        TableName: table.tableName,
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
