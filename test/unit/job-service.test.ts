import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MemoryJobStore } from "../../lambdas/shared/adapters/memory-job-store.js";
import {
  EnqueueFailedError,
  IdempotencyConflictError,
  JobNotFoundError,
  LimitExceededError,
} from "../../lambdas/shared/domain/errors.js";
import { type JobMessage, JobRowSchema } from "../../lambdas/shared/domain/job.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { Clock, JobQueue } from "../../lambdas/shared/domain/ports.js";
import { slowApi } from "../../lambdas/shared/jobs/slow-api.js";
import { type CallerLimits, JobService } from "../../lambdas/shared/usecases/job-service.js";
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
