import { randomUUID } from "node:crypto";
import { type DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { inject } from "vitest";
import { type LocalEndpoints, localAwsClients } from "../../local/aws-clients.js";
import { createJobResources, type JobResourceOptions, type JobResources } from "../../local/resources.js";

export interface LocalAws {
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly resources: JobResources;
  readonly endpoints: LocalEndpoints;
}

/** Clients for the emulators started by the global setup, and a fresh table and queues. */
export async function useLocalAws(
  prefix: string = uniquePrefix(),
  options: Omit<JobResourceOptions, "prefix"> = {},
): Promise<LocalAws> {
  const endpoints: LocalEndpoints = {
    dynamoEndpoint: inject("dynamoEndpoint"),
    sqsEndpoint: inject("sqsEndpoint"),
    region: inject("awsRegion"),
  };
  const { dynamo, sqs, s3 } = localAwsClients(endpoints);
  const resources = await createJobResources({ dynamo, sqs, s3 }, { ...options, prefix });
  return { dynamo, sqs, s3, resources, endpoints };
}

/** Resource names are per test, because every test file shares the same emulators. */
export function uniquePrefix(): string {
  return `t${randomUUID().slice(0, 8)}`;
}

export async function countItems(dynamo: DynamoDBClient, tableName: string): Promise<number> {
  let count = 0;
  let startKey: ScanCommand["input"]["ExclusiveStartKey"];
  do {
    const page = await dynamo.send(
      new ScanCommand({ TableName: tableName, Select: "COUNT", ExclusiveStartKey: startKey }),
    );
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return count;
}

/** Visible, in-flight and delayed messages together. */
export async function countMessages(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}
