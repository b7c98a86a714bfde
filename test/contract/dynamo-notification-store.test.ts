import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { DynamoNotificationStore } from "../../lambdas/shared/adapters/dynamo-notification-store.js";
import { localAwsClients } from "../../local/aws-clients.js";
import { loseFirstUpdateAnswer } from "../support/aws-faults.js";
import { useLocalAws } from "../support/local-aws.js";
import { newJob, storeFor } from "../support/worker-kit.js";
import { describeNotificationStoreContract } from "./notification-store.contract.js";

// DynamoDB Local, one fresh table; the notification store reads through the job store over it.
describeNotificationStoreContract("DynamoNotificationStore on DynamoDB Local", async () => {
  const aws = await useLocalAws();
  return (clock) => {
    const jobs = storeFor(aws, clock);
    const notifications = new DynamoNotificationStore({
      client: aws.dynamo,
      tableName: aws.resources.tableName,
      jobs,
      ...(clock ? { clock } : {}),
    });
    return { notifications, jobs };
  };
});

describe("DynamoNotificationStore: a webhook claim whose answer was lost", () => {
  it("is this call's claim when the SDK tries again, and still another worker's refusal", async () => {
    const aws = await useLocalAws();
    const jobs = storeFor(aws);
    const lossy = localAwsClients(aws.endpoints).dynamo;
    const lost = loseFirstUpdateAnswer(lossy);
    const storeOver = (client: DynamoDBClient) =>
      new DynamoNotificationStore({ client, tableName: aws.resources.tableName, jobs });
    const target = {
      webhookId: "msg_lost",
      url: "https://hooks.example.com/done",
      status: "pending" as const,
    };
    const job = (await jobs.create({ ...newJob(), notifications: [{ ...target, attempts: 0 }] })).job;
    const first = { index: 0, webhookId: target.webhookId, expectedAttempts: 0 };

    // The first try's write lands, its answer is lost, and the SDK tries the same call again.
    expect(await storeOver(lossy).claimAttempt(job.id, first, 60_000)).toBe(true);
    expect(lost()).toBe(1);
    expect(await storeOver(aws.dynamo).claimAttempt(job.id, first, 60_000)).toBe(false);
    // Recording the attempt gives up the lease and the claim with it.
    expect(await storeOver(aws.dynamo).recordAttempt(job.id, first, { status: "pending" })).toBe(true);
    expect((await jobs.get(job.id))?.notifications?.[0]).toMatchObject({ attempts: 1 });
    expect((await jobs.get(job.id))?.notifications?.[0]).not.toHaveProperty("attemptClaim");
  });
});
