import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type AwsCaller, awsClientOptions } from "../adapters/aws-call-policy.js";
import { ENV } from "../config/env-names.js";

export interface AwsClients {
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
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
    s3: new S3Client({
      ...awsClientOptions(caller),
      ...(env[ENV.awsEndpointS3] ? { forcePathStyle: true } : {}),
    }),
  };
}
