import { describe, expect, it } from "vitest";
import { MemoryJobStore } from "../../lambdas/shared/adapters/memory-job-store.js";
import { MemoryNotificationStore } from "../../lambdas/shared/adapters/memory-notification-store.js";
import type { JobRow } from "../../lambdas/shared/domain/job.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { NotificationMessage, NotificationTarget } from "../../lambdas/shared/domain/notifications.js";
import type { AttemptOutcome, NotificationStore } from "../../lambdas/shared/domain/ports.js";
import {
  type DeliveryDecision,
  deliverNotification,
} from "../../lambdas/shared/usecases/deliver-notification.js";

const NOW = Date.parse("2026-01-01T00:00:00.000Z");
const JOB_ID = "5b0e5e3c-5d1e-4a43-9d0d-2d6a4bb0e0a1";

/** A notification store over one in-memory job table holding `row`, at the test's fixed time. */
function storeWith(row: JobRow): MemoryNotificationStore {
  const jobs = new MemoryJobStore({ clock: { now: () => NOW } });
  jobs.table.write(row);
  return new MemoryNotificationStore({ jobs, clock: { now: () => NOW } });
}

/** The row's (only) callback target as the store holds it now. */
async function targetOf(store: NotificationStore): Promise<NotificationTarget | undefined> {
  return (await store.get(JOB_ID))?.notifications?.[0];
}

function endedRow(expiresInSeconds = 24 * 3600): JobRow {
  return {
    id: JOB_ID,
    type: "slow_api",
    owner: "o",
    status: "completed",
    inputJson: "{}",
    inputHash: "h",
    attempt: 1,
    maxAttempts: 3,
    resultJson: "{}",
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:00:00.000Z",
    expiresAt: NOW / 1000 + expiresInSeconds,
    notifications: [{ webhookId: "msg_a", url: "https://hooks.example.com", status: "pending", attempts: 0 }],
  };
}

function run(
  store: NotificationStore,
  outcome: AttemptOutcome,
  message: NotificationMessage,
  settings = {
    retryDelaysSeconds: [5, 60, 300, 1_800, 7_200, 21_600],
    maxAttempts: 0,
    attemptLeaseMs: 15_000,
  },
): Promise<DeliveryDecision> & { sends: number } {
  const counter = { sends: 0 };
  const decision = deliverNotification(
    {
      store,
      sender: {
        send: async () => {
          counter.sends++;
          return outcome;
        },
      },
      settings,
      clock: { now: () => NOW },
      log: silentLog,
    },
    message,
  );
  return Object.assign(decision, counter);
}

const first: NotificationMessage = { jobId: JOB_ID, webhookId: "msg_a", attempt: 1 };

describe("deliverNotification", () => {
  it("a failed attempt schedules the next one after the schedule's delay", async () => {
    const store = storeWith(endedRow());
    const decision = await run(store, { kind: "retry", reason: "HTTP 500 from the receiver" }, first);
    expect(decision).toEqual({ kind: "next", message: { ...first, attempt: 2 }, delaySeconds: 5 });
    expect(await targetOf(store)).toMatchObject({
      status: "pending",
      attempts: 1,
      lastError: "HTTP 500 from the receiver",
    });
  });

  it("a wait longer than SQS's 900 s is chained: delayed 900 s, carrying when it may run", async () => {
    const row = endedRow();
    row.notifications = [
      { webhookId: "msg_a", url: "https://h.example.com", status: "pending", attempts: 4 },
    ];
    const decision = await run(storeWith(row), { kind: "retry", reason: "x" }, { ...first, attempt: 5 });
    expect(decision).toEqual({
      kind: "next",
      message: { ...first, attempt: 6, notBefore: NOW + 7_200_000 },
      delaySeconds: 900,
    });
  });

  it("a message that comes before its time waits, without reading or sending", async () => {
    const store = storeWith(endedRow());
    const early = run(store, { kind: "delivered", status: 200 }, { ...first, notBefore: NOW + 3_600_000 });
    expect(await early).toEqual({ kind: "wait", seconds: 3_600 });
    expect(early.sends).toBe(0);
  });

  it("gives up when the next attempt would fall after the job's TTL", async () => {
    const store = storeWith(endedRow(4));
    expect(await run(store, { kind: "retry", reason: "HTTP 503 from the receiver" }, first)).toEqual({
      kind: "done",
    });
    expect(await targetOf(store)).toMatchObject({
      status: "failed",
      attempts: 1,
      lastError: "HTTP 503 from the receiver (gave up after 1 attempt)",
    });
  });

  it("a stale or duplicate message sends nothing", async () => {
    const store = storeWith(endedRow());
    await run(store, { kind: "delivered", status: 200 }, first);
    const again = run(store, { kind: "delivered", status: 200 }, first);
    expect(await again).toEqual({ kind: "done" });
    expect(again.sends).toBe(0);
  });

  it("a message for an attempt another worker holds sends nothing", async () => {
    const store = storeWith(endedRow());
    // Another delivery worker holds the first attempt's lease.
    expect(
      await store.claimAttempt(JOB_ID, { index: 0, webhookId: "msg_a", expectedAttempts: 0 }, 15_000),
    ).toBe(true);
    const held = run(store, { kind: "delivered", status: 200 }, first);
    expect(await held).toEqual({ kind: "done" });
    expect(held.sends).toBe(0);
  });

  it("a stop (410, redirect, refused address) fails at once and keeps the reason short", async () => {
    const store = storeWith(endedRow());
    const reason = `refused: ${"x".repeat(1_000)}`;
    expect(await run(store, { kind: "stop", reason }, first)).toEqual({ kind: "done" });
    expect((await targetOf(store))?.status).toBe("failed");
    expect((await targetOf(store))?.lastError?.length).toBeLessThanOrEqual(300);
  });
});
