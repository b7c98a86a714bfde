import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type AwsCaller, awsClientOptions } from "../lambdas/shared/adapters/aws-call-policy.js";

/** Where the local emulators listen. */
export interface LocalEndpoints {
  readonly dynamoEndpoint: string;
  readonly sqsEndpoint: string;
  readonly region: string;
}

export interface LocalAwsClients {
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
}

// The emulators accept any signature; static keys keep the SDK from searching for real credentials.
const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

/** SDK clients pointed at the local emulators, bounded as the deployed `caller`'s are. */
export function localAwsClients(endpoints: LocalEndpoints, caller: AwsCaller = "tooling"): LocalAwsClients {
  return {
    dynamo: new DynamoDBClient({
      ...awsClientOptions(caller),
      endpoint: endpoints.dynamoEndpoint,
      region: endpoints.region,
      credentials: LOCAL_CREDENTIALS,
    }),
    // An explicit endpoint is required: fauxqs queue URLs name a *.localhost host that does not resolve.
    sqs: new SQSClient({
      ...awsClientOptions(caller),
      endpoint: endpoints.sqsEndpoint,
      region: endpoints.region,
      credentials: LOCAL_CREDENTIALS,
    }),
    // fauxqs serves S3 on its SQS endpoint; path-style, since bucket.127.0.0.1 is no host name.
    s3: new S3Client({
      ...awsClientOptions(caller),
      endpoint: endpoints.sqsEndpoint,
      region: endpoints.region,
      credentials: LOCAL_CREDENTIALS,
      forcePathStyle: true,
    }),
  };
}
