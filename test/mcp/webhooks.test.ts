import type { ServerResponse } from "node:http";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoJobStore } from "../../lambdas/shared/adapters/dynamo-job-store.js";
import { SqsNotificationQueue } from "../../lambdas/shared/adapters/sqs-notification-queue.js";
import { generateWebhookSecret } from "../../lambdas/shared/adapters/standard-webhooks.js";
import { LOCAL_PRINCIPAL } from "../../lambdas/shared/auth/authenticator.js";
import type { JobView } from "../../lambdas/shared/domain/job.js";
import type { ResolveAll } from "../../lambdas/shared/outbound/outbound.js";
import type { LocalStack } from "../../local/local-stack.js";
import { eventually } from "../support/eventually.js";
import { type HttpFixture, type RecordedRequest, startHttpFixture } from "../support/http-fixture.js";
import { countMessages } from "../support/local-aws.js";
import { callForJob, callTool, connectClient, type JobAnswer, startTestStack } from "../support/mcp-stack.js";
import { expectNothingCreated, quiescent } from "../support/nothing-created.js";
import { newJob } from "../support/worker-kit.js";

const SECRET = generateWebhookSecret();
/** Names the injected resolver maps to addresses no delivery may reach. */
const PRIVATE_HOSTS: Record<string, string> = {
  "hooks.internal.test": "10.0.0.1",
  "metadata.internal.test": "169.254.169.254",
};

let stack: LocalStack;
let client: Client;
let receiver: HttpFixture;
/** Where the redirecting receiver points: it must never be called. */
let landing: HttpFixture;
const resolved: string[] = [];
const counters = new Map<string, number>();

const lookup: ResolveAll = async (hostname) => {
  resolved.push(hostname);
  const address = PRIVATE_HOSTS[hostname];
  if (address === undefined)
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
  return [{ address, family: 4 }];
};

/** The receiver: its path says how it answers. */
function answer(request: RecordedRequest, response: ServerResponse): void {
  const path = request.target.split("?")[0] ?? "";
  const seen = (counters.get(path) ?? 0) + 1;
  counters.set(path, seen);
  if (path.startsWith("/flaky")) {
    response.writeHead(seen <= 2 ? 500 : 200).end();
  } else if (path.startsWith("/gone")) {
    response.writeHead(410).end();
  } else if (path.startsWith("/silent")) {
    // Never answers: the delivery's timeout must end each attempt.
  } else if (path.startsWith("/redirect")) {
    response.writeHead(302, { location: `${landing.origin}/landing` }).end();
  } else {
    response.writeHead(204).end();
  }
}

beforeAll(async () => {
  receiver = await startHttpFixture(answer);
  landing = await startHttpFixture();
  stack = await startTestStack({
    env: {
      CALLBACK_ALLOWED_ORIGINS: `${receiver.origin},https://hooks.internal.test,https://metadata.internal.test`,
      CALLBACK_ALLOW_LOOPBACK: "true",
      DEFAULT_CALLBACK_URL: `${receiver.origin}/default`,
      WEBHOOK_SECRET: SECRET,
      // The schedule, shortened: 1 s between attempts, at most 3 attempts, 1 s per attempt.
      WEBHOOK_RETRY_DELAYS_SECONDS: "1",
      WEBHOOK_MAX_ATTEMPTS: "3",
      WEBHOOK_TIMEOUT_MS: "1000",
    },
    webhookLookup: lookup,
  });
  client = await connectClient(stack.mcpUrl);
});

afterAll(async () => {
  await client?.close();
  await stack?.stop();
  await receiver?.close();
  await landing?.close();
});

function deliveriesTo(path: string): RecordedRequest[] {
  return receiver.requests.filter((request) => request.target === path);
}

async function deliveredTo(path: string, count = 1): Promise<RecordedRequest[]> {
  return eventually(
    async () => deliveriesTo(path),
    (requests) => requests.length >= count,
  );
}

/** Verifies a delivery with the Standard Webhooks library and returns the event. */
function verified(request: RecordedRequest): { type: string; timestamp: string; data: JobView } {
  expect(request.method).toBe("POST");
  expect(request.headers["content-type"]).toBe("application/json");
  const headers = {
    "webhook-id": String(request.headers["webhook-id"]),
    "webhook-timestamp": String(request.headers["webhook-timestamp"]),
    "webhook-signature": String(request.headers["webhook-signature"]),
  };
  return new Webhook(SECRET).verify(request.body, headers) as {
    type: string;
    timestamp: string;
    data: JobView;
  };
}

async function notificationSettled(jobId: string): Promise<JobAnswer> {
  return eventually(
    () => callForJob(client, "get_job", { jobId }),
    (job) => job.notification !== undefined && job.notification.status !== "pending",
  );
}

function withoutNotification(job: JobAnswer): Omit<JobAnswer, "notification"> {
  const { notification: _notification, ...rest } = job;
  return rest;
}

describe("a job that ends notifies its callbackUrl once, signed per Standard Webhooks", () => {
  it("completed: job.completed with the job as get_job shows it", async () => {
    const started = await callForJob(client, "start_slow_api", {
      query: "paris",
      delaySeconds: 0,
      callbackUrl: `${receiver.origin}/completed`,
    });
    expect(started.notification).toEqual({ status: "pending", attempts: 0 });
    const [request] = await deliveredTo("/completed");
    const event = verified(request as RecordedRequest);
    expect(event.type).toBe("job.completed");
    const job = await notificationSettled(started.jobId);
    expect(job.notification).toEqual({ status: "delivered", attempts: 1 });
    expect(event.data).toEqual(withoutNotification(job));
    expect(event.data.result).toEqual({ answer: "Slow result for: paris" });
    expect(event.timestamp).toBe(job.finishedAt);
    expect(String(request?.headers["webhook-id"])).toMatch(/^msg_/);
    // One event per URL: the deployment's default got its own, with its own webhook-id.
    const defaults = await deliveredTo("/default");
    // Once no job or notification message is left, nothing can send again: the counts are final.
    await quiescent(stack);
    const mine = deliveriesTo("/default").filter((r) => verified(r).data.jobId === started.jobId);
    expect(defaults.length).toBeGreaterThan(0);
    expect(deliveriesTo("/completed")).toHaveLength(1);
    expect(mine).toHaveLength(1);
    expect(mine[0]?.headers["webhook-id"]).not.toBe(request?.headers["webhook-id"]);
  });

  it("failed: job.failed with the error", async () => {
    const started = await callForJob(client, "start_failing_api", {
      query: "q",
      delaySeconds: 0,
      callbackUrl: `${receiver.origin}/failed`,
    });
    const [request] = await deliveredTo("/failed");
    const event = verified(request as RecordedRequest);
    expect(event.type).toBe("job.failed");
    expect(event.data.status).toBe("failed");
    expect(event.data.error?.code).toBe("external_api_failed_dependency");
    const job = await notificationSettled(started.jobId);
    expect(event.data).toEqual(withoutNotification(job));
    await quiescent(stack);
    expect(deliveriesTo("/failed")).toHaveLength(1);
  });

  it("cancelled: cancel_job sends job.cancelled at once", async () => {
    const started = await callForJob(client, "start_slow_api", {
      query: "long",
      delaySeconds: 60,
      callbackUrl: `${receiver.origin}/cancelled`,
    });
    await callForJob(client, "cancel_job", { jobId: started.jobId });
    const [request] = await deliveredTo("/cancelled");
    const event = verified(request as RecordedRequest);
    expect(event.type).toBe("job.cancelled");
    expect(event.data.status).toBe("cancelled");
    const job = await notificationSettled(started.jobId);
    expect(job.status).toBe("cancelled");
    expect(job.notification?.status).toBe("delivered");
    // The worker, seeing the cancelled job's message later, sends nothing more: once that message
    // is acknowledged and no notification message is left, the count is final.
    await quiescent(stack);
    expect(deliveriesTo("/cancelled")).toHaveLength(1);
  });

  it("a job without callbackUrl notifies the deployment's DEFAULT_CALLBACK_URL", async () => {
    const started = await callForJob(client, "start_slow_api", { query: "default only", delaySeconds: 0 });
    const job = await notificationSettled(started.jobId);
    expect(job.notification).toEqual({ status: "delivered", attempts: 1 });
    await quiescent(stack);
    const events = deliveriesTo("/default").map(verified);
    expect(events.filter((event) => event.data.jobId === started.jobId)).toHaveLength(1);
  });
});

describe("retries", () => {
  it("500, 500, then 200: the same webhook-id three times, then delivered", async () => {
    const started = await callForJob(client, "start_slow_api", {
      query: "q",
      delaySeconds: 0,
      callbackUrl: `${receiver.origin}/flaky`,
    });
    const requests = await deliveredTo("/flaky", 3);
    expect(requests).toHaveLength(3);
    const ids = new Set(requests.map((request) => request.headers["webhook-id"]));
    expect(ids.size).toBe(1);
    for (const request of requests) expect(verified(request).type).toBe("job.completed");
    const job = await notificationSettled(started.jobId);
    expect(job.notification).toEqual({
      status: "delivered",
      attempts: 3,
      lastError: "HTTP 500 from the receiver",
    });
    // A delivery never changes the job itself.
    expect(job.status).toBe("completed");
    expect(job.result).toEqual({ answer: "Slow result for: q" });
  });

  it("410 Gone stops at once", async () => {
    const started = await callForJob(client, "start_slow_api", {
      query: "q",
      delaySeconds: 0,
      callbackUrl: `${receiver.origin}/gone`,
    });
    const job = await notificationSettled(started.jobId);
    expect(job.notification?.status).toBe("failed");
    expect(job.notification?.attempts).toBe(1);
    expect(job.notification?.lastError).toMatch(/410/);
    await quiescent(stack);
    expect(deliveriesTo("/gone")).toHaveLength(1);
  });

  it("a receiver that never answers ends failed after the schedule, with the last error", async () => {
    const started = await callForJob(client, "start_slow_api", {
      query: "q",
      delaySeconds: 0,
      callbackUrl: `${receiver.origin}/silent`,
    });
    const job = await notificationSettled(started.jobId);
    expect(job.notification?.status).toBe("failed");
    expect(job.notification?.attempts).toBe(3);
    expect(job.notification?.lastError).toMatch(/No answer within 1 s.*gave up after 3 attempts/);
    await quiescent(stack);
    expect(deliveriesTo("/silent")).toHaveLength(3);
    expect(job.status).toBe("completed");
  });
});

describe("refused callbacks", () => {
  it("a callbackUrl off the allowlist is refused at start and creates nothing", async () => {
    const answer = await expectNothingCreated(stack, () =>
      callTool(client, "start_slow_api", { query: "q", callbackUrl: "https://elsewhere.example.com/hook" }),
    );
    expect(answer.isError).toBe(true);
    expect(answer.text).toMatch(
      /callbackUrl was refused: its origin https:\/\/elsewhere\.example\.com is not one/,
    );
  });

  it("a callbackUrl with credentials is refused at start, without echoing them", async () => {
    const url = new URL(`${receiver.origin}/creds`);
    url.username = "user";
    url.password = "hunter2";
    const answer = await expectNothingCreated(stack, () =>
      callTool(client, "start_slow_api", { query: "q", callbackUrl: url.href }),
    );
    expect(answer.isError).toBe(true);
    expect(answer.text).toMatch(/credentials/);
    expect(answer.text).not.toContain("hunter2");
    expect(deliveriesTo("/creds")).toHaveLength(0);
  });

  it("plain http to a host other than loopback is refused at start", async () => {
    const answer = await expectNothingCreated(stack, () =>
      callTool(client, "start_slow_api", { query: "q", callbackUrl: "http://hooks.internal.test/x" }),
    );
    expect(answer.isError).toBe(true);
    expect(answer.text).toMatch(/http/);
  });

  it.each(Object.entries(PRIVATE_HOSTS))(
    "a callbackUrl whose host resolves to a private or metadata address (%s → %s) fails at delivery, before any connection",
    async (host, address) => {
      const started = await callForJob(client, "start_slow_api", {
        query: "q",
        delaySeconds: 0,
        callbackUrl: `https://${host}/hook`,
      });
      const job = await notificationSettled(started.jobId);
      expect(job.notification?.status).toBe("failed");
      expect(job.notification?.attempts).toBe(1);
      expect(job.notification?.lastError).toContain(`refused: Outbound host ${host} resolves to ${address}`);
      expect(job.notification?.lastError).not.toContain("whsec_");
      expect(resolved).toContain(host);
      expect(job.status).toBe("completed");
    },
  );

  it("a redirecting receiver: the redirect is not followed and the notification fails", async () => {
    const started = await callForJob(client, "start_slow_api", {
      query: "q",
      delaySeconds: 0,
      callbackUrl: `${receiver.origin}/redirect`,
    });
    const job = await notificationSettled(started.jobId);
    expect(job.notification?.status).toBe("failed");
    expect(job.notification?.lastError).toMatch(/302 redirect/);
    expect(deliveriesTo("/redirect")).toHaveLength(1);
    expect(landing.requests).toHaveLength(0);
  });

  it("a delivery whose message lands in the notification dead-letter queue ends failed with its last error", async () => {
    // A job that ended while its receiver answered 503 once; then the delivery handler kept crashing
    // on its next attempt until SQS moved that message to the dead-letter queue.
    const store = new DynamoJobStore({ client: stack.clients.dynamo, tableName: stack.resources.tableName });
    const job = newJob({ owner: LOCAL_PRINCIPAL });
    const webhookId = `msg_dead-${Date.now()}`;
    await store.create({
      ...job,
      notifications: [
        { webhookId, url: `${receiver.origin}/dead`, status: "pending", attempts: 1, lastError: "HTTP 503" },
      ],
    });
    await store.failOpen(job.id, { code: "external_api_error", message: "failed", retryable: false });
    const pending = await callForJob(client, "get_job", { jobId: job.id });
    expect(pending.notification).toEqual({ status: "pending", attempts: 1, lastError: "HTTP 503" });

    const deadLetters = stack.resources.notificationDeadLetterQueueUrl;
    await new SqsNotificationQueue({ client: stack.clients.sqs, queueUrl: deadLetters }).send(
      { jobId: job.id, webhookId, attempt: 2 },
      0,
    );
    const settled = await notificationSettled(job.id);
    expect(settled.notification).toEqual({
      status: "failed",
      attempts: 1,
      lastError: expect.stringMatching(/^HTTP 503; .*dead-letter queue/),
    });
    // Settling sends nothing, and leaves nothing in the dead-letter queue.
    expect(deliveriesTo("/dead")).toHaveLength(0);
    expect(
      await eventually(
        () => countMessages(stack.clients.sqs, deadLetters),
        (count) => count === 0,
      ),
    ).toBe(0);
  });

  it("no job or notification message is left behind once a retried delivery has settled", async () => {
    const started = await callForJob(client, "start_slow_api", {
      query: "left behind",
      delaySeconds: 0,
      callbackUrl: `${receiver.origin}/flaky-left-behind`,
    });
    // Two 500s, then 200: the queue carried two retry messages for this job alone.
    const job = await notificationSettled(started.jobId);
    expect(job.notification).toMatchObject({ status: "delivered", attempts: 3 });
    await quiescent(stack);
    expect(await countMessages(stack.clients.sqs, stack.resources.notificationQueueUrl)).toBe(0);
    expect(await countMessages(stack.clients.sqs, stack.resources.queueUrl)).toBe(0);
    expect(deliveriesTo("/flaky-left-behind")).toHaveLength(3);
  });
});
