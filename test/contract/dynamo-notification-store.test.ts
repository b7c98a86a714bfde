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

describe("DynamoNotificationStore: an attempt write whose answer was lost (webhooks and events)", () => {
  async function setup() {
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
    return { jobs, lost, job, first, lossy: storeOver(lossy), other: storeOver(aws.dynamo) };
  }

  it("a claim is this call's claim when the SDK tries again, and still another worker's refusal", async () => {
    const { lost, job, first, lossy, other } = await setup();
    // The first try's write lands, its answer is lost, and the SDK tries the same call again.
    expect(await lossy.claimAttempt(job.id, first, 60_000)).toBe(true);
    expect(lost()).toBe(1);
    expect(await other.claimAttempt(job.id, first, 60_000)).toBe(false);
  });

  it("a record is this call's record when the SDK tries again: the retry is still scheduled, the attempt counted once", async () => {
    const { jobs, lost, job, first, lossy, other } = await setup();
    expect(await other.claimAttempt(job.id, first, 60_000)).toBe(true);
    expect(await lossy.recordAttempt(job.id, first, { status: "pending", lastError: "HTTP 503" })).toBe(true);
    expect(lost()).toBe(1);
    expect((await jobs.get(job.id))?.notifications?.[0]).toMatchObject({ status: "pending", attempts: 1 });
    // Another worker's record of the same attempt is refused, and the next attempt may be claimed.
    expect(await other.recordAttempt(job.id, first, { status: "delivered" })).toBe(false);
    expect(await other.claimAttempt(job.id, { ...first, expectedAttempts: 1 }, 60_000)).toBe(true);
  });

  it("an event claim is this call's claim when the SDK tries again, and still another worker's refusal", async () => {
    const { lost, job, lossy, other } = await setup();
    const eventId = `evt_${"a".repeat(40)}`;
    expect(await lossy.claimEventAttempt(job.id, eventId, 1, 60_000)).toBe(true);
    expect(lost()).toBe(1);
    expect(await other.claimEventAttempt(job.id, eventId, 1, 60_000)).toBe(false);
  });

  it("a give-up is this call's when the SDK tries again", async () => {
    const { jobs, lost, job, first, lossy } = await setup();
    expect(await lossy.giveUp(job.id, first, "dead-lettered")).toBe(true);
    expect(lost()).toBe(1);
    expect((await jobs.get(job.id))?.notifications?.[0]).toMatchObject({ status: "failed", attempts: 0 });
  });
});
