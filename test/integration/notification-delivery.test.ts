import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoNotificationStore } from "../../lambdas/shared/adapters/dynamo-notification-store.js";
import { OutboundWebhookSender } from "../../lambdas/shared/adapters/webhook-sender.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { NotificationMessage, NotificationTarget } from "../../lambdas/shared/domain/notifications.js";
import type { WebhookSender } from "../../lambdas/shared/domain/ports.js";
import {
  type DeliveryDecision,
  type DeliveryDeps,
  deliverNotification,
} from "../../lambdas/shared/usecases/deliver-notification.js";
import { type HttpFixture, startHttpFixture } from "../support/http-fixture.js";
import { type LocalAws, useLocalAws } from "../support/local-aws.js";
import { newJob, storeFor, TestClock } from "../support/worker-kit.js";

/**
 * "A duplicate message sends nothing" on the real table: the delivery use case with the DynamoDB
 * notification store and the real signed sender, counted at a loopback receiver by webhook-id.
 */
let aws: LocalAws;
let receiver: HttpFixture;
/** What the receiver answers next, in order; then 200. */
let answers: number[] = [];
/** Holds every answer until the test opens it. */
let gate: Promise<void> = Promise.resolve();

beforeAll(async () => {
  aws = await useLocalAws();
  receiver = await startHttpFixture(async (_request, response) => {
    await gate;
    response.writeHead(answers.shift() ?? 200).end();
  });
});

afterAll(() => receiver?.close());

const ATTEMPT_LEASE_MS = 6_000;

function deps(clock = new TestClock(), sender?: WebhookSender): DeliveryDeps {
  const jobs = storeFor(aws, clock);
  return {
    store: new DynamoNotificationStore({
      client: aws.dynamo,
      tableName: aws.resources.tableName,
      jobs,
      clock,
    }),
    sender:
      sender ??
      new OutboundWebhookSender({
        key: randomBytes(32),
        clock,
        policy: { allowLoopback: true, maxResponseBytes: 1024, timeoutMs: 5_000 },
      }),
    settings: { retryDelaysSeconds: [1, 2], maxAttempts: 5, attemptLeaseMs: ATTEMPT_LEASE_MS },
    clock,
    log: silentLog,
  };
}

/** A completed job whose row owes one notification to the receiver. */
async function endedJobOwing(): Promise<{ jobId: string; webhookId: string }> {
  const store = storeFor(aws);
  const job = newJob({ input: { query: "q", delaySeconds: 0 } });
  const webhookId = `msg_${job.id}`;
  const target: NotificationTarget = {
    webhookId,
    url: `${receiver.origin}/hook`,
    status: "pending",
    attempts: 0,
  };
  await store.create({ ...job, notifications: [target] });
  const claim = await store.claim(job.id, 30_000);
  if (!claim.claimed) throw new Error("claim failed");
  await store.complete(job.id, claim.job.attempt, '{"answer":42}');
  return { jobId: job.id, webhookId };
}

function postsFor(webhookId: string): number {
  return receiver.requests.filter((request) => request.headers["webhook-id"] === webhookId).length;
}

async function targetOf(jobId: string): Promise<NotificationTarget | undefined> {
  return (await storeFor(aws).get(jobId))?.notifications?.[0];
}

/** Runs `count` deliveries of one message at once; the receiver answers only after the others ended. */
async function concurrently(
  count: number,
  delivery: DeliveryDeps,
  message: NotificationMessage,
): Promise<DeliveryDecision[]> {
  let open = (): void => {};
  gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let settled = 0;
  const runs = Array.from({ length: count }, () =>
    deliverNotification(delivery, message).finally(() => {
      settled += 1;
      // Every delivery but the one the receiver is holding has ended: none of them sent.
      if (settled === count - 1) open();
    }),
  );
  try {
    return await Promise.all(runs);
  } finally {
    open();
    gate = Promise.resolve();
  }
}

describe("completion webhooks on the real table are sent once per attempt", () => {
  it("the same message delivered again and again sends one POST", async () => {
    const { jobId, webhookId } = await endedJobOwing();
    const delivery = deps();
    const message = { jobId, webhookId, attempt: 1 };
    for (let i = 0; i < 3; i++)
      expect(await deliverNotification(delivery, message)).toEqual({ kind: "done" });
    expect(postsFor(webhookId)).toBe(1);
    expect(await targetOf(jobId)).toMatchObject({ status: "delivered", attempts: 1 });
    expect(await targetOf(jobId)).not.toHaveProperty("attemptLeaseUntil");
  });

  it("five deliveries of one message at once send one POST; the others find the attempt held", async () => {
    const { jobId, webhookId } = await endedJobOwing();
    const decisions = await concurrently(5, deps(), { jobId, webhookId, attempt: 1 });
    expect(decisions).toEqual(Array.from({ length: 5 }, () => ({ kind: "done" })));
    expect(postsFor(webhookId)).toBe(1);
    expect(await targetOf(jobId)).toMatchObject({ status: "delivered", attempts: 1 });
  });

  it("a retried attempt: stale and concurrent duplicates of each attempt send nothing more", async () => {
    const { jobId, webhookId } = await endedJobOwing();
    const delivery = deps();
    answers = [500];
    const first = await deliverNotification(delivery, { jobId, webhookId, attempt: 1 });
    expect(first).toEqual({ kind: "next", message: { jobId, webhookId, attempt: 2 }, delaySeconds: 1 });
    expect(await targetOf(jobId)).toMatchObject({
      status: "pending",
      attempts: 1,
      lastError: "HTTP 500 from the receiver",
    });
    // A late copy of attempt 1 is stale now.
    expect(await deliverNotification(delivery, { jobId, webhookId, attempt: 1 })).toEqual({ kind: "done" });
    expect(postsFor(webhookId)).toBe(1);

    const second = await concurrently(3, delivery, { jobId, webhookId, attempt: 2 });
    expect(second).toEqual([{ kind: "done" }, { kind: "done" }, { kind: "done" }]);
    expect(postsFor(webhookId)).toBe(2);
    expect(await targetOf(jobId)).toMatchObject({ status: "delivered", attempts: 2 });
  });

  it("a delivery that dies after its claim holds the attempt for the lease, then exactly one retry sends", async () => {
    const { jobId, webhookId } = await endedJobOwing();
    const clock = new TestClock();
    const real = deps(clock).sender;
    let crashes = 1;
    const crashing: WebhookSender = {
      send(target, body) {
        if (crashes-- > 0) return Promise.reject(new Error("the process died (injected)"));
        return real.send(target, body);
      },
    };
    const delivery = deps(clock, crashing);
    const message = { jobId, webhookId, attempt: 1 };
    await expect(deliverNotification(delivery, message)).rejects.toThrow(/died/);
    expect(await targetOf(jobId)).toMatchObject({ status: "pending", attempts: 0 });

    // While the lease holds, a redelivery sends nothing.
    expect(await deliverNotification(delivery, message)).toEqual({ kind: "done" });
    expect(postsFor(webhookId)).toBe(0);

    clock.advance(ATTEMPT_LEASE_MS + 1_000);
    const decisions = await concurrently(3, delivery, message);
    expect(decisions).toEqual([{ kind: "done" }, { kind: "done" }, { kind: "done" }]);
    expect(postsFor(webhookId)).toBe(1);
    expect(await targetOf(jobId)).toMatchObject({ status: "delivered", attempts: 1 });
  });
});
