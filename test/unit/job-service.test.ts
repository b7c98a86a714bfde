import { randomUUID } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { MemoryJobStore } from "../../lambdas/shared/adapters/memory-job-store.js";
import {
  EnqueueFailedError,
  IdempotencyConflictError,
  JobNotFoundError,
  JobNotRecordedError,
  LimitExceededError,
} from "../../lambdas/shared/domain/errors.js";
import { type JobMessage, JobRowSchema } from "../../lambdas/shared/domain/job.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { CallerQuotaStore, Clock, JobQueue } from "../../lambdas/shared/domain/ports.js";
import { slowApi } from "../../lambdas/shared/jobs/slow-api.js";
import { CallbackTargets } from "../../lambdas/shared/usecases/callback-targets.js";
import { type CallerLimits, JobService } from "../../lambdas/shared/usecases/job-service.js";
import type { NotificationOutbox } from "../../lambdas/shared/usecases/notification-outbox.js";
import { FrozenClock, TestClock, uniqueOwner } from "../support/worker-kit.js";

// The tools' use cases on the in-memory store: no emulators. The store's own rules are the
// contract suite's (test/contract); these check what the use cases decide on top of them.

/** A queue that keeps what it is sent, and fails every send while `down` is set. */
class FakeQueue implements JobQueue {
  readonly sent: JobMessage[] = [];
  down = false;

  async send(message: JobMessage): Promise<void> {
    if (this.down) throw new Error("queue unavailable");
    this.sent.push(message);
  }
}

const TTL_SECONDS = 3600;

function serviceWith(options: { clock?: Clock; limits?: Partial<CallerLimits> } = {}): {
  service: JobService;
  store: MemoryJobStore;
  queue: FakeQueue;
  owner: string;
} {
  const clock = options.clock ?? new TestClock();
  const store = new MemoryJobStore({ clock });
  const queue = new FakeQueue();
  const service = new JobService({
    store,
    quotas: store,
    queue,
    clock,
    log: silentLog,
    jobTtlSeconds: TTL_SECONDS,
    limits: { maxActiveJobs: 0, maxStartsPerMinute: 0, ...options.limits },
  });
  return { service, store, queue, owner: uniqueOwner() };
}

const input = { query: "q", delaySeconds: 0 };

describe("start", () => {
  it("creates a queued job that expires after the TTL, and sends one message for it", async () => {
    const clock = new FrozenClock(Date.UTC(2026, 0, 1, 12));
    const { service, store, queue, owner } = serviceWith({ clock });
    const job = await service.start({ owner, jobType: slowApi, input });

    expect(JobRowSchema.parse(job)).toMatchObject({
      type: "slow_api",
      owner,
      status: "queued",
      attempt: 0,
      maxAttempts: slowApi.maxAttempts,
      inputJson: JSON.stringify({ delaySeconds: 0, query: "q" }),
      createdAt: "2026-01-01T12:00:00.000Z",
      expiresAt: Date.UTC(2026, 0, 1, 12) / 1000 + TTL_SECONDS,
    });
    // The message carries the job as the row holds it, so the worker can write a row that never landed.
    expect(queue.sent).toEqual([
      {
        jobId: job.id,
        type: "slow_api",
        job: {
          id: job.id,
          type: "slow_api",
          owner,
          inputJson: job.inputJson,
          inputHash: job.inputHash,
          maxAttempts: job.maxAttempts,
          expiresAt: job.expiresAt,
        },
      },
    ]);
    expect(await store.get(job.id)).toEqual(job);
  });

  it("with the same idempotency key and input returns the first job and sends nothing more", async () => {
    const { service, queue, owner } = serviceWith();
    const first = await service.start({ owner, jobType: slowApi, input, idempotencyKey: "k" });
    // Key order is not part of the input's identity.
    const again = await service.start({
      owner,
      jobType: slowApi,
      input: { delaySeconds: 0, query: "q" },
      idempotencyKey: "k",
    });
    expect(again).toEqual(first);
    expect(queue.sent).toHaveLength(1);
  });

  it("with the same idempotency key and another input fails, and creates nothing", async () => {
    const { service, queue, owner } = serviceWith();
    await service.start({ owner, jobType: slowApi, input, idempotencyKey: "k" });
    await expect(
      service.start({ owner, jobType: slowApi, input: { ...input, query: "other" }, idempotencyKey: "k" }),
    ).rejects.toThrow(IdempotencyConflictError);
    expect((await service.list(owner, { limit: 10 })).jobs).toHaveLength(1);
    expect(queue.sent).toHaveLength(1);
  });

  it("creates nothing when the message cannot be sent, and leaves the idempotency key free", async () => {
    const { service, queue, owner } = serviceWith();
    queue.down = true;
    const failure = await service
      .start({ owner, jobType: slowApi, input, idempotencyKey: "k" })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EnqueueFailedError);
    expect((await service.list(owner, { limit: 10 })).jobs).toEqual([]);

    queue.down = false;
    const retried = await service.start({ owner, jobType: slowApi, input, idempotencyKey: "k" });
    expect(queue.sent).toEqual([
      {
        jobId: retried.id,
        type: "slow_api",
        job: expect.objectContaining({ id: retried.id, idempotencyKey: "k" }),
      },
    ]);
  });
});

describe("caller limits", () => {
  it("refuse a start past the active-job limit, creating nothing, until a job ends", async () => {
    const { service, queue, owner } = serviceWith({ limits: { maxActiveJobs: 2 } });
    const first = await service.start({ owner, jobType: slowApi, input });
    await service.start({ owner, jobType: slowApi, input });
    await expect(service.start({ owner, jobType: slowApi, input })).rejects.toThrow(LimitExceededError);
    expect((await service.list(owner, { limit: 10 })).jobs).toHaveLength(2);
    expect(queue.sent).toHaveLength(2);
    // Another caller has its own limit.
    await service.start({ owner: uniqueOwner(), jobType: slowApi, input });

    await service.cancel(owner, first.id);
    await expect(service.start({ owner, jobType: slowApi, input })).resolves.toMatchObject({
      status: "queued",
    });
  });

  it("refuse a start past the per-minute limit until the next minute", async () => {
    const clock = new FrozenClock(Date.UTC(2026, 0, 1, 12, 0, 5));
    const { service, owner } = serviceWith({ clock, limits: { maxStartsPerMinute: 2 } });
    await service.start({ owner, jobType: slowApi, input });
    await service.start({ owner, jobType: slowApi, input });
    await expect(service.start({ owner, jobType: slowApi, input })).rejects.toThrow(/2 per minute/);
    clock.advance(55_000);
    await expect(service.start({ owner, jobType: slowApi, input })).resolves.toMatchObject({
      status: "queued",
    });
  });

  it("ask both limits at once, in one round trip, before anything is sent", async () => {
    const clock = new TestClock();
    const store = new MemoryJobStore({ clock });
    const queue = new FakeQueue();
    const asked: string[] = [];
    let answer = (): void => {};
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    const quotas: CallerQuotaStore = {
      async countActive(owner, atMost) {
        asked.push("countActive");
        await answered;
        return store.countActive(owner, atMost);
      },
      async tryRecordStart(owner, limit, atMs) {
        asked.push("tryRecordStart");
        await answered;
        return store.tryRecordStart(owner, limit, atMs);
      },
      releaseStart: (owner, atMs) => store.releaseStart(owner, atMs),
    };
    const service = new JobService({
      store,
      quotas,
      queue,
      clock,
      log: silentLog,
      jobTtlSeconds: TTL_SECONDS,
      limits: { maxActiveJobs: 5, maxStartsPerMinute: 5 },
    });
    const starting = service.start({ owner: uniqueOwner(), jobType: slowApi, input });
    // Both questions are out while neither has been answered.
    await vi.waitFor(() => expect([...asked].sort()).toEqual(["countActive", "tryRecordStart"]));
    expect(queue.sent).toHaveLength(0);
    answer();
    await expect(starting).resolves.toMatchObject({ status: "queued" });
    expect(queue.sent).toHaveLength(1);
  });

  it("give back the minute's start of a start the active limit refused", async () => {
    const clock = new FrozenClock(Date.UTC(2026, 0, 1, 12, 0, 5));
    const { service, queue, owner } = serviceWith({
      clock,
      limits: { maxActiveJobs: 1, maxStartsPerMinute: 2 },
    });
    const first = await service.start({ owner, jobType: slowApi, input });
    await expect(service.start({ owner, jobType: slowApi, input })).rejects.toThrow(/Too many active jobs/);
    await service.cancel(owner, first.id);
    // Two starts this minute: the refused one did not count.
    await expect(service.start({ owner, jobType: slowApi, input })).resolves.toMatchObject({
      status: "queued",
    });
    expect(queue.sent).toHaveLength(2);
  });

  it("do not count an idempotent repeat as a new start", async () => {
    const { service, owner } = serviceWith({ limits: { maxActiveJobs: 1, maxStartsPerMinute: 1 } });
    const first = await service.start({ owner, jobType: slowApi, input, idempotencyKey: "k" });
    expect(await service.start({ owner, jobType: slowApi, input, idempotencyKey: "k" })).toEqual(first);
  });
});

describe("owner scoping", () => {
  it("answers another caller's job exactly like an unknown id, for get, wait and cancel", async () => {
    const { service, owner } = serviceWith();
    const job = await service.start({ owner, jobType: slowApi, input });
    const stranger = uniqueOwner();
    const unknownId = randomUUID();
    const answers = async (id: string): Promise<string[]> =>
      Promise.all(
        [
          service.get(stranger, id),
          service.waitFor(stranger, id, { waitMs: 0, notAfter: Date.now() }),
          service.cancel(stranger, id),
        ].map((call) =>
          call.then(
            () => "answered",
            (error: unknown) => `${(error as Error).name}: ${(error as Error).message.replace(id, "<id>")}`,
          ),
        ),
      );
    const foreign = await answers(job.id);
    expect(foreign).toEqual(await answers(unknownId));
    expect(foreign[0]).toMatch(new RegExp(`^${JobNotFoundError.name}`));
    expect(await service.get(owner, job.id)).toMatchObject({ status: "queued" });
    expect((await service.list(stranger, { limit: 10 })).jobs).toEqual([]);
  });
});

describe("waitFor", () => {
  it("returns as soon as the job ends", async () => {
    const { service, store, owner } = serviceWith();
    const job = await service.start({ owner, jobType: slowApi, input });
    setTimeout(() => {
      void store.claim(job.id, 60_000).then(() => store.complete(job.id, 1, '"done"'));
    }, 150);
    const started = Date.now();
    const ended = await service.waitFor(owner, job.id, { waitMs: 20_000, notAfter: Date.now() + 20_000 });
    expect(ended).toMatchObject({ status: "completed", resultJson: '"done"' });
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("gives back the open job when the caller's own deadline comes first", async () => {
    const { service, owner } = serviceWith();
    const job = await service.start({ owner, jobType: slowApi, input });
    const ended = await service.waitFor(owner, job.id, { waitMs: 20_000, notAfter: Date.now() + 300 });
    expect(ended).toMatchObject({ id: job.id, status: "queued" });
  });
});

describe("waitFor's reads", () => {
  it("read again after 100 ms, then 1.5 times longer up to 500 ms, and return at the first read after the end", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "Date"] });
    try {
      const { service, store, owner } = serviceWith({ clock: { now: () => Date.now() } });
      const job = await service.start({ owner, jobType: slowApi, input });
      const t0 = Date.now();
      const reads = readTimes(store, t0);
      const waiting = service.waitFor(owner, job.id, { waitMs: 20_000, notAfter: t0 + 20_000 });
      await vi.advanceTimersByTimeAsync(1_000);
      await store.claim(job.id, 60_000);
      await store.complete(job.id, 1, '"done"');
      await vi.advanceTimersByTimeAsync(1_000);
      expect(await waiting).toMatchObject({ status: "completed", resultJson: '"done"' });
      expect(reads).toEqual([0, 100, 250, 475, 812, 1312]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("make a last read exactly at the caller's deadline, never after it", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "Date"] });
    try {
      const { service, store, owner } = serviceWith({ clock: { now: () => Date.now() } });
      const job = await service.start({ owner, jobType: slowApi, input });
      const t0 = Date.now();
      const reads = readTimes(store, t0);
      const waiting = service.waitFor(owner, job.id, { waitMs: 20_000, notAfter: t0 + 250 });
      await vi.advanceTimersByTimeAsync(1_000);
      expect(await waiting).toMatchObject({ status: "queued" });
      expect(reads).toEqual([0, 100, 250]);
    } finally {
      vi.useRealTimers();
    }
  });
});

/** Records when (ms after `t0`) each store read happens. */
function readTimes(store: MemoryJobStore, t0: number): number[] {
  const reads: number[] = [];
  const get = store.get.bind(store);
  store.get = (id) => {
    reads.push(Date.now() - t0);
    return get(id);
  };
  return reads;
}

describe("completion webhooks at start and cancel", () => {
  const callbacks = new CallbackTargets({
    allowedOrigins: ["https://hooks.example.com"],
    outbound: { allowLoopback: false },
  });

  function serviceWithCallbacks(outbox?: Pick<NotificationOutbox, "release">) {
    const clock = new TestClock();
    const store = new MemoryJobStore({ clock });
    const service = new JobService({
      store,
      quotas: store,
      queue: new FakeQueue(),
      clock,
      log: silentLog,
      jobTtlSeconds: TTL_SECONDS,
      limits: { maxActiveJobs: 0, maxStartsPerMinute: 0 },
      callbacks,
      ...(outbox ? { outbox: outbox as NotificationOutbox } : {}),
    });
    return { service, store, owner: uniqueOwner() };
  }

  it("a job keeps its callback target; one without a callbackUrl keeps none", async () => {
    const { service, owner } = serviceWithCallbacks();
    const withCallback = await service.start({
      owner,
      jobType: slowApi,
      input,
      callbackUrl: "https://hooks.example.com/done",
    });
    expect(withCallback.notifications).toEqual([
      expect.objectContaining({ url: "https://hooks.example.com/done", status: "pending", attempts: 0 }),
    ]);
    const without = await service.start({ owner, jobType: slowApi, input });
    expect(without).not.toHaveProperty("notifications");
  });

  it("the callbackUrl is part of what an idempotency key promises", async () => {
    const { service, owner } = serviceWithCallbacks();
    const request = { owner, jobType: slowApi, input, idempotencyKey: "k" };
    const first = await service.start({ ...request, callbackUrl: "https://hooks.example.com/a" });
    expect((await service.start({ ...request, callbackUrl: "https://hooks.example.com/a" })).id).toBe(
      first.id,
    );
    await expect(service.start({ ...request, callbackUrl: "https://hooks.example.com/b" })).rejects.toThrow(
      IdempotencyConflictError,
    );
    await expect(service.start(request)).rejects.toThrow(IdempotencyConflictError);
    // Without a callbackUrl the hash is the one a server without webhooks computes.
    const plain = serviceWith();
    const again = await service.start({ ...request, owner: plain.owner, idempotencyKey: "other" });
    const bare = await plain.service.start({ ...request, owner: plain.owner });
    expect(again.inputHash).toBe(bare.inputHash);
  });

  it("a server without webhooks refuses a callbackUrl and creates nothing", async () => {
    const { service, store, queue, owner } = serviceWith();
    await expect(
      service.start({ owner, jobType: slowApi, input, callbackUrl: "https://hooks.example.com/x" }),
    ).rejects.toThrow("callbackUrl is not enabled on this server.");
    expect(queue.sent).toEqual([]);
    expect((await store.listByOwner(owner, { limit: 10 })).jobs).toEqual([]);
  });

  it("cancel releases the ended job's notifications at once; a failed release still answers the cancel", async () => {
    const released: string[] = [];
    let fail = false;
    const { service, owner } = serviceWithCallbacks({
      async release(row) {
        if (fail) throw new Error("SQS unavailable (injected)");
        released.push(`${row.id}:${row.status}`);
      },
    });
    const one = await service.start({ owner, jobType: slowApi, input });
    expect(await service.cancel(owner, one.id)).toMatchObject({ status: "cancelled" });
    expect(released).toEqual([`${one.id}:cancelled`]);
    fail = true;
    const two = await service.start({ owner, jobType: slowApi, input });
    expect(await service.cancel(owner, two.id)).toMatchObject({ status: "cancelled" });
  });
});

describe("a row write that fails at start", () => {
  it("is answered as not recorded, after the message went out; a domain refusal passes as it is", async () => {
    const { service, store, queue, owner } = serviceWith();
    const create = store.create.bind(store);
    store.create = () => Promise.reject(new Error("DynamoDB timed out (injected)"));
    const error = await service.start({ owner, jobType: slowApi, input }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobNotRecordedError);
    expect((error as Error).cause).toMatchObject({ message: "DynamoDB timed out (injected)" });
    expect(queue.sent).toHaveLength(1);
    store.create = () => Promise.reject(new IdempotencyConflictError("k"));
    await expect(service.start({ owner, jobType: slowApi, input })).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    store.create = create;
  });

  it("an enqueue failure keeps its cause", async () => {
    const { service, queue, owner } = serviceWith();
    queue.down = true;
    const error = await service.start({ owner, jobType: slowApi, input }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnqueueFailedError);
    expect((error as Error).cause).toMatchObject({ message: "queue unavailable" });
  });

  it("passes the idempotency key to the row only when one was given", async () => {
    const { service, owner } = serviceWith();
    expect(await service.start({ owner, jobType: slowApi, input })).not.toHaveProperty("idempotencyKey");
    expect(await service.start({ owner, jobType: slowApi, input, idempotencyKey: "given" })).toMatchObject({
      idempotencyKey: "given",
    });
  });
});
