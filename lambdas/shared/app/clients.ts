import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type AwsCaller, awsClientOptions } from "../adapters/aws-call-policy.js";
import type { ClientSource } from "../adapters/client-on-first-use.js";
import { s3ClientOnFirstUse } from "../adapters/s3-result-store.js";
import { ENV } from "../config/env-names.js";

export interface AwsClients {
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  /** Made on first use by default: only a function that reads or writes a stored result loads the S3 SDK. */
  readonly s3: ClientSource<S3Client>;
}

/**
 * Clients built once per container, with the timeouts and retries of `caller` (see
 * aws-call-policy.ts); endpoints come from the standard AWS_ENDPOINT_URL_* variables.
 */
export function createAwsClients(
  caller: AwsCaller,
  env: Record<string, string | undefined> = process.env,
): AwsClients {
  return {
    dynamo: new DynamoDBClient(awsClientOptions(caller)),
    // With an endpoint override (an emulator), queue URLs may name a host that only the emulator knows.
    sqs: new SQSClient({
      ...awsClientOptions(caller),
      ...(env[ENV.awsEndpointSqs] ? { useQueueUrlAsEndpoint: false } : {}),
    }),
    // An emulator's S3 is reached path-style: bucket names are no host names on 127.0.0.1.
    s3: s3ClientOnFirstUse({
      ...awsClientOptions(caller),
      ...(env[ENV.awsEndpointS3] ? { forcePathStyle: true } : {}),
    }),
  };
}
