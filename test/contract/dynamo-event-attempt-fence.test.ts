import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { DynamoNotificationStore } from "../../lambdas/shared/adapters/dynamo-notification-store.js";
import { localAwsClients } from "../../local/aws-clients.js";
import { loseFirstUpdateAnswer } from "../support/aws-faults.js";
import { useLocalAws } from "../support/local-aws.js";
import { newJob, storeFor } from "../support/worker-kit.js";
import { describeEventAttemptFenceContract } from "./event-attempt-fence.contract.js";

// The fence lives in the job's row: every claim names a job that exists.
describeEventAttemptFenceContract("DynamoNotificationStore on DynamoDB Local", async () => {
  const aws = await useLocalAws();
  const jobs = storeFor(aws);
  return {
    fenceWith: (clock) =>
      new DynamoNotificationStore({
        client: aws.dynamo,
        tableName: aws.resources.tableName,
        jobs,
        ...(clock ? { clock } : {}),
      }),
    newJobId: async () => (await jobs.create(newJob())).job.id,
  };
});

describe("DynamoNotificationStore: an event claim whose answer was lost", () => {
  it("is this call's claim when the SDK tries again, and still another worker's refusal", async () => {
    const aws = await useLocalAws();
    const jobs = storeFor(aws);
    const lossy = localAwsClients(aws.endpoints).dynamo;
    const lost = loseFirstUpdateAnswer(lossy);
    const fenceOver = (client: DynamoDBClient) =>
      new DynamoNotificationStore({ client, tableName: aws.resources.tableName, jobs });
    const job = (await jobs.create(newJob())).job.id;
    const eventId = `evt_${"a".repeat(40)}`;

    // The first try's write lands, its answer is lost, and the SDK tries the same call again.
    expect(await fenceOver(lossy).claimEventAttempt(job, eventId, 1, 60_000)).toBe(true);
    expect(lost()).toBe(1);
    expect(await fenceOver(aws.dynamo).claimEventAttempt(job, eventId, 1, 60_000)).toBe(false);
  });
});
