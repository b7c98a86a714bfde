import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import {
  generateWebhookSecret,
  webhookHeaders,
  webhookKey,
} from "../../lambdas/shared/adapters/standard-webhooks.js";
import { ConfigError } from "../../lambdas/shared/config/env-reader.js";
import { loadCallbackConfig, loadDeliveryConfig } from "../../lambdas/shared/config/webhook-config.js";
import type { JobRow } from "../../lambdas/shared/domain/job.js";
import { CallbackRefusedError } from "../../lambdas/shared/domain/notifications.js";
import { webhookKeyError } from "../../lambdas/shared/domain/webhook-secret.js";
import { CallbackTargets } from "../../lambdas/shared/usecases/callback-targets.js";
import { retryDelaySeconds } from "../../lambdas/shared/usecases/deliver-notification.js";
import { jobEvent } from "../../lambdas/shared/usecases/job-event.js";
import { dueNotifications } from "../../lambdas/shared/usecases/notification-outbox.js";

describe("signing (checked by the standardwebhooks library, not by our code)", () => {
  const secret = generateWebhookSecret();
  const body = JSON.stringify({ type: "job.completed", data: { jobId: "x" } });
  const now = Math.floor(Date.now() / 1000);

  it("produces headers the library verifies", () => {
    const headers = webhookHeaders(webhookKey(secret), "msg_1", now, body);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("a changed body, id or timestamp fails verification", () => {
    const headers = webhookHeaders(webhookKey(secret), "msg_1", now, body);
    const webhook = new Webhook(secret);
    expect(() => webhook.verify(`${body} `, headers)).toThrow(/signature/i);
    expect(() => webhook.verify(body, { ...headers, "webhook-id": "msg_2" })).toThrow(/signature/i);
    expect(() => webhook.verify(body, { ...headers, "webhook-timestamp": String(now - 1) })).toThrow(
      /signature/i,
    );
  });

  it("a secret without the whsec_ prefix (as Secrets Manager stores it) signs the same", () => {
    const bare = secret.slice("whsec_".length);
    expect(webhookKey(bare).equals(webhookKey(secret))).toBe(true);
    // Secrets Manager's generated value: 44 alphanumeric characters.
    const generated = `${"A".repeat(20)}${"b".repeat(20)}0123`;
    expect(webhookKeyError(generated)).toBeUndefined();
    const headers = webhookHeaders(webhookKey(generated), "msg_1", now, body);
    expect(() => new Webhook(`whsec_${generated}`).verify(body, headers)).not.toThrow();
  });

  it("refuses short or malformed secrets without quoting them", () => {
    expect(webhookKeyError("whsec_c2hvcnQ=")).toMatch(/at least 24/);
    expect(webhookKeyError("not base64!!")).toBeDefined();
    expect(() => webhookKey("whsec_tooshort")).toThrow(/^The webhook secret must be/);
    expect(() => webhookKey("whsec_tooshort")).not.toThrow(/tooshort/);
  });
});

describe("the retry schedule", () => {
  const defaults = [5, 60, 300, 1_800, 7_200, 21_600];

  it("waits about 5 s, 1 min, 5 min, 30 min, 2 h, 6 h, then 6 h again", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((attempt) => retryDelaySeconds(attempt, defaults))).toEqual([
      5, 60, 300, 1_800, 7_200, 21_600, 21_600, 21_600,
    ]);
  });

  it("is the default of WEBHOOK_RETRY_DELAYS_SECONDS, and can be shortened", () => {
    const base = {
      JOB_TABLE_NAME: "t",
      NOTIFICATION_QUEUE_URL: "http://q",
      WEBHOOK_SECRET: generateWebhookSecret(),
    };
    expect(loadDeliveryConfig(base)).toMatchObject({
      retryDelaysSeconds: defaults,
      timeoutMs: 10_000,
      maxAttempts: 0,
    });
    expect(loadDeliveryConfig({ ...base, WEBHOOK_RETRY_DELAYS_SECONDS: "1, 2" }).retryDelaysSeconds).toEqual([
      1, 2,
    ]);
  });
});

describe("config", () => {
  it("names each bad variable, and never quotes the secret", () => {
    const attempt = (): unknown =>
      loadDeliveryConfig({
        JOB_TABLE_NAME: "t",
        NOTIFICATION_QUEUE_URL: "http://q",
        WEBHOOK_SECRET: "whsec_c2VjcmV0",
        CALLBACK_ALLOW_LOOPBACK: "yes",
        WEBHOOK_RETRY_DELAYS_SECONDS: "5,soon",
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/CALLBACK_ALLOW_LOOPBACK.*WEBHOOK_RETRY_DELAYS_SECONDS/);
    expect(() =>
      loadDeliveryConfig({
        JOB_TABLE_NAME: "t",
        NOTIFICATION_QUEUE_URL: "http://q",
        WEBHOOK_SECRET: "whsec_c2VjcmV0",
      }),
    ).toThrow(/^WEBHOOK_SECRET must be/);
    expect(() => loadDeliveryConfig({ JOB_TABLE_NAME: "t", NOTIFICATION_QUEUE_URL: "http://q" })).toThrow(
      /WEBHOOK_SECRET or WEBHOOK_SECRET_ARN/,
    );
  });

  it("reads CALLBACK_ALLOWED_ORIGINS as origins and refuses an entry with a path", () => {
    expect(
      loadCallbackConfig({ CALLBACK_ALLOWED_ORIGINS: "https://a.example.com, https://b.example.com:8443/" }),
    ).toMatchObject({
      allowedOrigins: ["https://a.example.com", "https://b.example.com:8443"],
      allowLoopback: false,
    });
    expect(() => loadCallbackConfig({ CALLBACK_ALLOWED_ORIGINS: "https://a.example.com/hooks" })).toThrow(
      /CALLBACK_ALLOWED_ORIGINS.*not an origin/,
    );
  });
});

describe("callback targets at start", () => {
  let n = 0;
  const targets = (
    settings: Partial<ConstructorParameters<typeof CallbackTargets>[0]> = {},
  ): CallbackTargets =>
    new CallbackTargets(
      { allowedOrigins: ["https://hooks.example.com"], outbound: { allowLoopback: false }, ...settings },
      () => `msg_${++n}`,
    );

  it("takes the caller's URL first, then the default, each with its own webhook-id", () => {
    const found = targets({ defaultCallbackUrl: "https://ops.example.com/all" }).targetsFor(
      "https://hooks.example.com/job?token=abc",
    );
    expect(found.map((t) => t.url)).toEqual([
      "https://hooks.example.com/job?token=abc",
      "https://ops.example.com/all",
    ]);
    expect(new Set(found.map((t) => t.webhookId)).size).toBe(2);
    expect(found.every((t) => t.status === "pending" && t.attempts === 0)).toBe(true);
  });

  it("refuses off-allowlist, credentials and plain http, naming at most the origin", () => {
    const policy = targets();
    expect(() => policy.targetsFor("https://other.example.com/x")).toThrow(CallbackRefusedError);
    expect(() => policy.targetsFor("https://u:secretpw@hooks.example.com/x")).toThrow(/credentials/);
    expect(() => policy.targetsFor("https://u:secretpw@hooks.example.com/x")).not.toThrow(/secretpw/);
    expect(() => policy.targetsFor("http://hooks.example.com/x")).toThrow(/https/);
    expect(() => targets({ allowedOrigins: [] }).targetsFor("https://hooks.example.com/x")).toThrow(
      /not enabled/,
    );
  });
});

describe("events and the outbox", () => {
  const row: JobRow = {
    id: "5b0e5e3c-5d1e-4a43-9d0d-2d6a4bb0e0a1",
    type: "slow_api",
    owner: "o",
    status: "completed",
    inputJson: "{}",
    inputHash: "h",
    attempt: 1,
    maxAttempts: 3,
    resultJson: '{"answer":42}',
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:05.000Z",
    finishedAt: "2026-01-01T00:00:05.000Z",
    expiresAt: 1_900_000_000,
    notifications: [
      { webhookId: "msg_a", url: "https://a.example.com", status: "pending", attempts: 0 },
      { webhookId: "msg_b", url: "https://b.example.com", status: "delivered", attempts: 1 },
    ],
  };

  it("the event is typed by the final status, timed at the end, and carries the job view without the delivery", () => {
    const event = jobEvent(row);
    expect(event?.type).toBe("job.completed");
    expect(event?.timestamp).toBe(row.finishedAt);
    expect(event?.data).toMatchObject({ jobId: row.id, status: "completed", result: { answer: 42 } });
    expect(event?.data).not.toHaveProperty("notification");
    expect(jobEvent({ ...row, status: "cancelled" })?.type).toBe("job.cancelled");
    expect(jobEvent({ ...row, status: "running" })).toBeUndefined();
  });

  it("bounds a long error message as get_job does (the one job view), so the webhook cannot say more", () => {
    const error = { code: "external_api_failed", message: "x".repeat(5_000), retryable: false };
    const event = jobEvent({ ...row, status: "failed", resultJson: undefined, error });
    expect(event?.data.error?.message).toHaveLength(2_000);
    expect(event?.data.error?.message.endsWith("…")).toBe(true);
    expect(event?.data.error).toMatchObject({ code: error.code, retryable: false });
  });

  it("owes one message per pending target of an ended job, none while open or once queued", () => {
    expect(dueNotifications(row)).toEqual([{ jobId: row.id, webhookId: "msg_a", attempt: 1 }]);
    expect(dueNotifications({ ...row, status: "running" })).toEqual([]);
    expect(dueNotifications({ ...row, notificationsQueuedAt: row.updatedAt })).toEqual([]);
    expect(dueNotifications({ ...row, notifications: undefined })).toEqual([]);
  });
});
