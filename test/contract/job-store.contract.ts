import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  IdempotencyConflictError,
  InvalidCursorError,
  JobNotFoundError,
  JobStateConflictError,
} from "../../lambdas/shared/domain/errors.js";
import { type JobError, type JobRow, JobRowSchema } from "../../lambdas/shared/domain/job.js";
import type { Clock, JobStore, NewJob, SubmittedWork } from "../../lambdas/shared/domain/ports.js";
import type { ResultRef } from "../../lambdas/shared/domain/results.js";
import { epochSeconds, FrozenClock, newJob, TestClock, uniqueOwner } from "../support/worker-kit.js";

/**
 * Stores over one shared set of rows, each reading time from its own clock (the system clock when
 * none is given), as two processes with different clocks share one table.
 */
export type JobStoreFactory = (clock?: Clock) => JobStore;

const transient: JobError = { code: "external_api_unavailable", message: "503", retryable: true };

/**
 * The rules every `JobStore` adapter keeps, as tests: the checklist for anyone writing another
 * store. Run it with a factory for the adapter (`describeJobStoreContract("MyStore", async () => …)`);
 * `setup` runs once, and every test uses its own owners and ids, so the rows may be shared.
 */
export function describeJobStoreContract(adapter: string, setup: () => Promise<JobStoreFactory>): void {
  describe(`JobStore contract: ${adapter}`, () => {
    let storeWith: JobStoreFactory;
    let store: JobStore;

    beforeAll(async () => {
      storeWith = await setup();
      store = storeWith();
    });

    async function created(job: NewJob = newJob(), into: JobStore = store): Promise<NewJob> {
      const outcome = await into.create(job);
      expect(outcome.created).toBe(true);
      return job;
    }

    /** Every row a store hands out parses as a job row, as every read of the table does. */
    function parses(row: JobRow | undefined): JobRow | undefined {
      if (row !== undefined) expect(JobRowSchema.strict().parse(row)).toEqual(row);
      return row;
    }

    describe("create and get", () => {
      it("creates a queued row, read back by a consistent get", async () => {
        const job = newJob({ idempotencyKey: "k1" });
        const outcome = await store.create(job);

        expect(outcome).toEqual({
          created: true,
          job: expect.objectContaining({ id: job.id, status: "queued" }),
        });
        expect(parses(await store.get(job.id))).toEqual(outcome.job);
        expect(outcome.job).toMatchObject({
          type: job.type,
          owner: job.owner,
          inputJson: job.inputJson,
          inputHash: job.inputHash,
          idempotencyKey: "k1",
          attempt: 0,
          maxAttempts: job.maxAttempts,
          expiresAt: job.expiresAt,
        });
        expect(outcome.job.createdAt).toBe(outcome.job.updatedAt);
        parses(outcome.job);
      });

      it("keeps the completion webhook targets a start gives, and none when it gives none", async () => {
        const targets = [
          { webhookId: "msg_1", url: "https://hooks.example/a", status: "pending", attempts: 0 },
        ] as const;
        const job = newJob();
        const { job: row } = await store.create({ ...job, notifications: targets });
        expect(parses(row)?.notifications).toEqual(targets);
        expect((await store.get(job.id))?.notifications).toEqual(targets);
        const plain = await created(newJob());
        expect(await store.get(plain.id)).not.toHaveProperty("notifications");
        const empty = newJob();
        expect((await store.create({ ...empty, notifications: [] })).job).not.toHaveProperty("notifications");
      });

      it("never overwrites an existing row with the same id", async () => {
        const job = await created();
        await expect(store.create({ ...job, owner: uniqueOwner() })).rejects.toThrow();
        expect((await store.get(job.id))?.owner).toBe(job.owner);
      });

      it("reads an unknown id as undefined", async () => {
        expect(await store.get(randomUUID())).toBeUndefined();
      });

      it("hands out copies: changing a returned row changes nothing stored", async () => {
        const job = await created();
        const row = await store.get(job.id);
        if (row) row.status = "completed";
        expect(await store.get(job.id)).toMatchObject({ status: "queued" });
      });
    });

    describe("expiry", () => {
      it("reads a row as gone once expiresAt <= now, and nothing can change it any more", async () => {
        const now = Date.now();
        const job = await created(newJob({ expiresAt: epochSeconds(now) + 3600 }));

        expect(await storeWith(new FrozenClock(now + 3599_000)).get(job.id)).toBeDefined();
        const lateStore = storeWith(new FrozenClock(job.expiresAt * 1000));
        expect(await lateStore.get(job.id)).toBeUndefined();

        expect(await lateStore.claim(job.id, 60_000)).toMatchObject({ claimed: false });
        await expect(lateStore.cancel(job.id, job.owner)).rejects.toThrow(JobNotFoundError);
        await expect(lateStore.failOpen(job.id, transient)).rejects.toThrow(JobStateConflictError);
        expect(await lateStore.listByOwner(job.owner, { limit: 10 })).toEqual({ jobs: [] });
        expect(await lateStore.countActive(job.owner, 10)).toBe(0);
        // Still there for a clock that has not reached expiresAt: untouched.
        expect(await store.get(job.id)).toMatchObject({ status: "queued", attempt: 0 });
      });

      it("keeps a running job's run from writing once the job expired", async () => {
        const now = Date.now();
        const job = await created(newJob({ expiresAt: epochSeconds(now) + 3600 }));
        await store.claim(job.id, 60_000);
        const lateStore = storeWith(new FrozenClock(job.expiresAt * 1000));
        expect(await lateStore.progress(job.id, 1, { current: 1 })).toBe(false);
        await expect(lateStore.complete(job.id, 1, '"late"')).rejects.toThrow(JobStateConflictError);
        await expect(lateStore.fail(job.id, 1, transient)).rejects.toThrow(JobStateConflictError);
        await expect(lateStore.releaseForRetry(job.id, 1, transient)).rejects.toThrow(JobStateConflictError);
        expect(await store.get(job.id)).toMatchObject({ status: "running", attempt: 1 });
      });

      it("reads a row created with an expiresAt already passed as expired", async () => {
        const job = await created(newJob({ expiresAt: epochSeconds() - 1 }));
        expect(await store.get(job.id)).toBeUndefined();
      });
    });

    describe("claim", () => {
      it("moves queued to running with attempt 1 and a lease; a second claim loses while the lease lives", async () => {
        const clock = new TestClock();
        const clocked = storeWith(clock);
        const job = await created();

        const first = await clocked.claim(job.id, 10_000);
        expect(first.claimed).toBe(true);
        expect(parses(first.job)).toMatchObject({ status: "running", attempt: 1 });
        expect(first.job?.leaseExpiresAt).toBeGreaterThanOrEqual(clock.now() + 9_000);
        expect(first.job?.startedAt).toBeDefined();

        const second = await clocked.claim(job.id, 10_000);
        expect(second).toEqual({ claimed: false, job: first.job });
      });

      it("lets the next delivery claim a job released for a retry, with attempt + 1", async () => {
        const job = await created();
        const first = await store.claim(job.id, 60_000);
        const released = await store.releaseForRetry(job.id, 1, transient);
        expect(parses(released)).toMatchObject({
          status: "running",
          attempt: 1,
          leaseExpiresAt: 0,
          lastError: transient,
        });

        const second = await store.claim(job.id, 60_000);
        expect(second).toMatchObject({ claimed: true, job: { status: "running", attempt: 2 } });
        expect(second.job?.startedAt).toBe(first.job?.startedAt);
      });

      it("does not claim an unknown id, and creates no row for it", async () => {
        const id = randomUUID();
        expect(await store.claim(id, 60_000)).toEqual({ claimed: false, job: undefined });
        expect(await store.get(id)).toBeUndefined();
      });

      it("does not claim a terminal job", async () => {
        const job = await created();
        await store.claim(job.id, 60_000);
        const completed = await store.complete(job.id, 1, '"done"');
        expect(await store.claim(job.id, 60_000)).toEqual({ claimed: false, job: completed });
      });
    });

    describe("claim tokens and lease renewal", () => {
      it("a claim tried again after its first try took effect answers claimed, once, with the same attempt", async () => {
        const job = await created();
        const first = await store.claim(job.id, 60_000, "token-a");
        expect(parses(first.job)).toMatchObject({ status: "running", attempt: 1, claimToken: "token-a" });

        // The first answer was lost: the same claim again finds its own token, and counts no attempt.
        expect(await store.claim(job.id, 60_000, "token-a")).toEqual({ claimed: true, job: first.job });
        // Any other claim loses while the lease lives, with or without a token.
        expect(await store.claim(job.id, 60_000, "token-b")).toEqual({ claimed: false, job: first.job });
        expect(await store.claim(job.id, 60_000)).toEqual({ claimed: false, job: first.job });
      });

      it("an orphaned claim's lease lapses and the next claim takes the job with attempt + 1 and its own token", async () => {
        const clock = new TestClock();
        const clocked = storeWith(clock);
        const job = await created();
        await clocked.claim(job.id, 1_000, "orphan");
        clock.advance(2_000);

        const takeover = await clocked.claim(job.id, 60_000, "live");
        expect(takeover).toMatchObject({ claimed: true, job: { attempt: 2, claimToken: "live" } });
        // The orphan's token no longer holds anything: a late retry of it loses.
        expect(await clocked.claim(job.id, 60_000, "orphan")).toMatchObject({ claimed: false });
        expect((await clocked.renewLease(job.id, { attempt: 1, token: "orphan" }, 60_000)).claimed).toBe(
          false,
        );
      });

      it("renews only the lease of the run that holds the job, and nothing a caller sees", async () => {
        const clock = new TestClock();
        const clocked = storeWith(clock);
        const job = await created();
        const claimed = await clocked.claim(job.id, 1_000, "run-1");
        clock.advance(900);

        const renewedAt = clock.now();
        const renewed = await clocked.renewLease(job.id, { attempt: 1, token: "run-1" }, 1_000);
        expect(renewed.claimed).toBe(true);
        expect(parses(renewed.job)?.leaseExpiresAt).toBeGreaterThanOrEqual(renewedAt + 1_000);
        expect(renewed.job?.updatedAt).toBe(claimed.job?.updatedAt);
        clock.advance(900);
        // Renewed: the lease still lives, so another claim loses.
        expect((await clocked.claim(job.id, 1_000, "other")).claimed).toBe(false);

        expect(await clocked.renewLease(job.id, { attempt: 1, token: "other" }, 1_000)).toMatchObject({
          claimed: false,
          job: { attempt: 1, claimToken: "run-1" },
        });
        expect((await clocked.renewLease(job.id, { attempt: 2, token: "run-1" }, 1_000)).claimed).toBe(false);
        expect(await clocked.renewLease(randomUUID(), { attempt: 1, token: "run-1" }, 1_000)).toEqual({
          claimed: false,
          job: undefined,
        });
      });

      it("does not renew a cancelled or ended job, and answers its row", async () => {
        const job = await created();
        await store.claim(job.id, 60_000, "run-1");
        await store.cancel(job.id, job.owner);
        expect(await store.renewLease(job.id, { attempt: 1, token: "run-1" }, 60_000)).toMatchObject({
          claimed: false,
          job: { status: "cancelled" },
        });
        expect((await store.claim(job.id, 60_000, "run-1")).claimed).toBe(false);
      });

      it("adopt writes the row a start could not, with its idempotency record, and answers an existing row unchanged", async () => {
        const job = newJob({ idempotencyKey: "adopted" });
        const adopted = await store.adopt(job);
        expect(parses(adopted)).toMatchObject({ id: job.id, owner: job.owner, status: "queued", attempt: 0 });
        expect(await store.get(job.id)).toEqual(adopted);
        expect((await store.findByIdempotencyKey(job.owner, "adopted"))?.id).toBe(job.id);
        // The start's own write landing late changes nothing; adopting again answers the row.
        expect((await store.create(job)).job.id).toBe(job.id);
        expect(await store.adopt(job)).toEqual(adopted);
      });

      it("adopt answers undefined and writes nothing when the idempotency key names another job", async () => {
        const first = await created(newJob({ idempotencyKey: "taken" }));
        const twin = newJob({ owner: first.owner, idempotencyKey: "taken" });
        expect(await store.adopt(twin)).toBeUndefined();
        expect(await store.get(twin.id)).toBeUndefined();
      });

      it("a create tried again after its first try took effect answers its own row", async () => {
        const job = await created();
        const again = await store.create(job);
        expect(again.job).toMatchObject({ id: job.id, owner: job.owner, status: "queued" });
        // The same id for another job is refused.
        await expect(store.create({ ...job, owner: uniqueOwner() })).rejects.toThrow();
      });
    });

    describe("a stale worker", () => {
      it("cannot overwrite the outcome of the run that took its expired lease over", async () => {
        const clock = new TestClock();
        const clocked = storeWith(clock);
        const job = await created();

        expect(await clocked.claim(job.id, 50)).toMatchObject({ claimed: true, job: { attempt: 1 } });
        clock.advance(1_000);
        const takeover = await clocked.claim(job.id, 60_000);
        expect(takeover).toMatchObject({ claimed: true, job: { status: "running", attempt: 2 } });

        // Attempt 1 comes back late: its progress is dropped and its outcome loses.
        expect(await clocked.progress(job.id, 1, { current: 1 })).toBe(false);
        await expect(clocked.complete(job.id, 1, '"stale"')).rejects.toThrow(JobStateConflictError);
        await expect(clocked.releaseForRetry(job.id, 1, transient)).rejects.toThrow(JobStateConflictError);

        const winner = await clocked.complete(job.id, 2, '"fresh"');
        await expect(clocked.fail(job.id, 1, transient)).rejects.toThrow(JobStateConflictError);
        await expect(clocked.complete(job.id, 1, '"stale"')).rejects.toThrow(JobStateConflictError);

        const row = await clocked.get(job.id);
        expect(row).toEqual(winner);
        expect(row).toMatchObject({ status: "completed", attempt: 2, resultJson: '"fresh"' });
        expect(row).not.toHaveProperty("error");
      });

      it("cannot write with another attempt number while the lease is live", async () => {
        const job = await created();
        await store.claim(job.id, 60_000);
        await expect(store.complete(job.id, 2, '"wrong attempt"')).rejects.toThrow(JobStateConflictError);
        expect(await store.get(job.id)).toMatchObject({ status: "running", attempt: 1 });
      });
    });

    describe("terminal states", () => {
      it("never change once reached", async () => {
        const job = await created();
        await store.claim(job.id, 60_000);
        const failed = await store.fail(job.id, 1, { code: "x", message: "permanent", retryable: false });
        expect(parses(failed)).toMatchObject({ status: "failed", error: { code: "x" } });
        expect(failed.finishedAt).toBeDefined();
        expect(failed).not.toHaveProperty("leaseExpiresAt");

        await expect(store.complete(job.id, 1, '"late"')).rejects.toThrow(JobStateConflictError);
        await expect(store.failOpen(job.id, transient)).rejects.toThrow(JobStateConflictError);
        await expect(store.releaseForRetry(job.id, 1, transient)).rejects.toThrow(JobStateConflictError);
        expect(await store.progress(job.id, 1, { current: 1 })).toBe(false);
        expect(await store.cancel(job.id, job.owner)).toEqual(failed);
        expect(await store.get(job.id)).toEqual(failed);
      });

      it("clear the pending retry's lastError and leave the active count when the job ends", async () => {
        const owner = uniqueOwner();
        const job = await created(newJob({ owner }));
        await store.claim(job.id, 60_000);
        await store.releaseForRetry(job.id, 1, transient);
        await store.claim(job.id, 60_000);
        expect(await store.countActive(owner, 10)).toBe(1);
        const completed = await store.complete(job.id, 2, "{}");
        expect(completed).not.toHaveProperty("lastError");
        expect(completed).not.toHaveProperty("leaseExpiresAt");
        expect(await store.countActive(owner, 10)).toBe(0);
      });

      it("failOpen fails a queued or running job whoever runs it", async () => {
        const queued = await created();
        expect(parses(await store.failOpen(queued.id, transient))).toMatchObject({
          status: "failed",
          error: transient,
        });
        const running = await created();
        await store.claim(running.id, 60_000);
        const failed = await store.failOpen(running.id, transient);
        expect(failed).toMatchObject({ status: "failed", attempt: 1 });
        expect(failed).not.toHaveProperty("leaseExpiresAt");
        expect(failed.finishedAt).toBeDefined();
        await expect(store.complete(running.id, 1, '"late"')).rejects.toThrow(JobStateConflictError);
        await expect(store.failOpen(randomUUID(), transient)).rejects.toThrow(JobStateConflictError);
      });
    });

    describe("a result kept in the result store", () => {
      const ref = (): ResultRef => ({
        key: "results/x.json",
        bytes: 123_456,
        sha256: "a".repeat(64),
        contentType: "application/json; charset=utf-8",
      });

      it("completes the run that owns the job with the reference instead of the result", async () => {
        const job = await created();
        await store.claim(job.id, 60_000);
        await store.releaseForRetry(job.id, 1, transient);
        await store.claim(job.id, 60_000);
        await expect(store.completeWithResultRef(job.id, 1, ref())).rejects.toThrow(JobStateConflictError);
        const completed = await store.completeWithResultRef(job.id, 2, ref());
        expect(parses(completed)).toMatchObject({ status: "completed", attempt: 2, resultRef: ref() });
        expect(completed).not.toHaveProperty("resultJson");
        expect(completed).not.toHaveProperty("lastError");
        await expect(store.completeWithResultRef(job.id, 2, ref())).rejects.toThrow(JobStateConflictError);
        expect(await store.get(job.id)).toEqual(completed);
      });
    });

    describe("progress", () => {
      it("only moves forward and is never written after a terminal state", async () => {
        const job = await created();
        await store.claim(job.id, 60_000);

        expect(await store.progress(job.id, 1, { current: 5, total: 10, message: "half" })).toBe(true);
        expect(await store.progress(job.id, 1, { current: 3, total: 10, message: "back" })).toBe(false);
        expect((await store.get(job.id))?.progress).toEqual({ current: 5, total: 10, message: "half" });
        expect(await store.progress(job.id, 1, { current: 5, total: 10, message: "same step" })).toBe(true);
        expect(await store.progress(job.id, 1, { current: 7, total: 10 })).toBe(true);

        const completed = await store.complete(job.id, 1, '"ok"');
        expect(completed.progress).toEqual({ current: 7, total: 10 });
        expect(await store.progress(job.id, 1, { current: 10, total: 10 })).toBe(false);
        expect(await store.get(job.id)).toEqual(completed);
      });

      it("is not written for a queued job, another attempt or an unknown id", async () => {
        const job = await created();
        expect(await store.progress(job.id, 0, { current: 1 })).toBe(false);
        await store.claim(job.id, 60_000);
        expect(await store.progress(job.id, 2, { current: 1 })).toBe(false);
        expect(await store.get(job.id)).not.toHaveProperty("progress");

        const id = randomUUID();
        expect(await store.progress(id, 1, { current: 1 })).toBe(false);
        expect(await store.get(id)).toBeUndefined();
      });
    });

    describe("cancel", () => {
      it("cancels a queued or a running job of its owner", async () => {
        const queued = await created();
        expect(parses(await store.cancel(queued.id, queued.owner))).toMatchObject({
          status: "cancelled",
          error: { code: "cancelled", retryable: false },
        });
        const running = await created();
        await store.claim(running.id, 60_000);
        const cancelled = await store.cancel(running.id, running.owner);
        expect(cancelled).toMatchObject({ status: "cancelled", attempt: 1 });
        expect(cancelled.finishedAt).toBeDefined();
        expect(cancelled).not.toHaveProperty("leaseExpiresAt");
        await expect(store.complete(running.id, 1, '"late"')).rejects.toThrow(JobStateConflictError);
        expect(await store.cancel(running.id, running.owner)).toEqual(cancelled);
      });

      it("answers another owner exactly like an unknown id, and changes nothing", async () => {
        const job = await created();
        const unknownId = randomUUID();
        const other = store.cancel(job.id, uniqueOwner());
        await expect(other).rejects.toThrow(JobNotFoundError);
        const unknown = await store.cancel(unknownId, job.owner).catch((error: unknown) => error);
        const foreign = await other.catch((error: unknown) => error);
        expect(unknown).toBeInstanceOf(JobNotFoundError);
        expect((foreign as Error).message.replace(job.id, "<id>")).toBe(
          (unknown as Error).message.replace(unknownId, "<id>"),
        );
        expect(await store.get(job.id)).toMatchObject({ status: "queued" });
      });
    });

    describe("idempotent create", () => {
      it("returns the existing job for the same owner, key and input, and stores nothing new", async () => {
        const owner = uniqueOwner();
        const first = await created(newJob({ owner, idempotencyKey: "same" }));
        const again = newJob({ owner, idempotencyKey: "same" });
        expect(again.id).not.toBe(first.id);

        const outcome = await store.create(again);
        expect(outcome.created).toBe(false);
        expect(outcome.job).toEqual(await store.get(first.id));
        expect(await store.get(again.id)).toBeUndefined();
        expect(await store.findByIdempotencyKey(owner, "same")).toEqual(outcome.job);
        expect((await store.listByOwner(owner, { limit: 10 })).jobs.map((job) => job.id)).toEqual([first.id]);
      });

      it("returns the existing job whatever state it reached", async () => {
        const owner = uniqueOwner();
        const job = await created(newJob({ owner, idempotencyKey: "done" }));
        await store.claim(job.id, 60_000);
        const completed = await store.complete(job.id, 1, '"r"');
        expect(await store.create(newJob({ owner, idempotencyKey: "done" }))).toEqual({
          created: false,
          job: completed,
        });
        expect(await store.findByIdempotencyKey(owner, "done")).toEqual(completed);
      });

      it("rejects the same key with another input", async () => {
        const owner = uniqueOwner();
        await created(newJob({ owner, idempotencyKey: "k", input: { query: "a" } }));
        const other = newJob({ owner, idempotencyKey: "k", input: { query: "b" } });
        await expect(store.create(other)).rejects.toThrow(IdempotencyConflictError);
        expect(await store.get(other.id)).toBeUndefined();
        // The same input under another job type is another input too.
        await expect(
          store.create(newJob({ owner, idempotencyKey: "k", type: "flaky_api", input: { query: "a" } })),
        ).rejects.toThrow(IdempotencyConflictError);
      });

      it("gives another owner with the same key its own job", async () => {
        const mine = await created(newJob({ idempotencyKey: "shared" }));
        const theirs = newJob({ idempotencyKey: "shared" });
        expect(theirs.owner).not.toBe(mine.owner);
        expect(await store.create(theirs)).toMatchObject({
          created: true,
          job: { id: theirs.id, owner: theirs.owner },
        });
        expect(await store.findByIdempotencyKey(mine.owner, "shared")).toMatchObject({ id: mine.id });
        expect(await store.findByIdempotencyKey(uniqueOwner(), "shared")).toBeUndefined();
      });

      it("keeps a key bound to its job while the job lives, even once it failed: no release", async () => {
        const owner = uniqueOwner();
        const first = await created(newJob({ owner, idempotencyKey: "retry-me" }));
        await store.failOpen(first.id, { code: "enqueue_failed", message: "no queue", retryable: true });
        expect(await store.findByIdempotencyKey(owner, "retry-me")).toMatchObject({ id: first.id });
        expect(await store.create(newJob({ owner, idempotencyKey: "retry-me" }))).toMatchObject({
          created: false,
          job: { id: first.id, status: "failed" },
        });
        // A start sends before it writes, so nothing ever frees a key early: the port has no such method.
        expect("releaseIdempotencyKey" in store).toBe(false);
      });

      it("lets a key whose job expired start a new job", async () => {
        const now = Date.now();
        const owner = uniqueOwner();
        await created(newJob({ owner, idempotencyKey: "old", expiresAt: epochSeconds(now) + 10 }));
        const later = storeWith(new FrozenClock(now + 3_600_000));
        expect(await later.findByIdempotencyKey(owner, "old")).toBeUndefined();
        const fresh = newJob({ owner, idempotencyKey: "old", expiresAt: epochSeconds(now) + 7200 });
        expect(await later.create(fresh)).toMatchObject({ created: true, job: { id: fresh.id } });
      });
    });

    describe("listByOwner", () => {
      async function jobsOf(owner: string, count: number): Promise<string[]> {
        const clock = new TestClock();
        const clocked = storeWith(clock);
        const ids: string[] = [];
        for (let i = 0; i < count; i++) {
          ids.push((await created(newJob({ owner }), clocked)).id);
          clock.advance(10);
        }
        return ids;
      }

      it("returns the owner's jobs newest first, and only theirs", async () => {
        const owner = uniqueOwner();
        const ids = await jobsOf(owner, 3);
        await jobsOf(uniqueOwner(), 2);
        const page = await store.listByOwner(owner, { limit: 10 });
        expect(page.jobs.map((job) => job.id)).toEqual([...ids].reverse());
        for (const job of page.jobs) parses(job);
        expect(page.nextCursor).toBeUndefined();
      });

      it("pages with an opaque cursor", async () => {
        const owner = uniqueOwner();
        const newestFirst = (await jobsOf(owner, 5)).reverse();
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.listByOwner(owner, { limit: 2, ...(cursor ? { cursor } : {}) });
          expect(page.jobs.length).toBeLessThanOrEqual(2);
          seen.push(...page.jobs.map((job) => job.id));
          cursor = page.nextCursor;
          if (cursor !== undefined) {
            expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
            expect(cursor).not.toContain(owner);
          }
          pages++;
        } while (cursor !== undefined && pages < 10);
        expect(seen).toEqual(newestFirst);
        expect(pages).toBe(3);
      });

      it("filters by status and still fills the page", async () => {
        const owner = uniqueOwner();
        const ids = await jobsOf(owner, 5);
        for (const id of [ids[0], ids[2], ids[4]]) await store.cancel(id ?? "", owner);
        const page = await store.listByOwner(owner, { status: "cancelled", limit: 2 });
        expect(page.jobs.map((job) => job.id)).toEqual([ids[4], ids[2]]);
        const rest = await store.listByOwner(owner, {
          status: "cancelled",
          limit: 2,
          cursor: page.nextCursor,
        });
        expect(rest.jobs.map((job) => job.id)).toEqual([ids[0]]);
        const queued = await store.listByOwner(owner, { status: "queued", limit: 10 });
        expect(queued.jobs.map((job) => job.id)).toEqual([ids[3], ids[1]]);
      });

      it("rejects a cursor from another owner and a garbage cursor", async () => {
        const owner = uniqueOwner();
        await jobsOf(owner, 3);
        const page = await store.listByOwner(owner, { limit: 1 });
        expect(page.nextCursor).toBeDefined();
        const cursor = page.nextCursor ?? "";

        const stranger = uniqueOwner();
        await jobsOf(stranger, 1);
        await expect(store.listByOwner(stranger, { limit: 10, cursor })).rejects.toThrow(InvalidCursorError);
        const forged = Buffer.from(
          JSON.stringify({ ...JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")), extra: 1 }),
        ).toString("base64url");
        for (const garbage of ["garbage", "", "!!!", Buffer.from("{}").toString("base64url"), forged]) {
          await expect(store.listByOwner(owner, { limit: 10, cursor: garbage })).rejects.toThrow(
            InvalidCursorError,
          );
        }
      });

      it("returns nothing for an owner without jobs", async () => {
        expect(await store.listByOwner(uniqueOwner(), { limit: 5 })).toEqual({ jobs: [] });
      });
    });

    describe("submit/check jobs", () => {
      const work = (): SubmittedWork => ({
        stateJson: '{"externalId":"x"}',
        nextCheckAt: Date.now() + 1_000,
        deadlineAt: Date.now() + 3_600_000,
      });

      async function submitted(): Promise<NewJob> {
        const job = await created();
        await store.claim(job.id, 60_000);
        const row = await store.recordSubmit(job.id, 1, work());
        expect(parses(row)).toMatchObject({ status: "running", attempt: 1, checkSeq: 1, leaseExpiresAt: 0 });
        expect(row.submittedAt).toBeDefined();
        return job;
      }

      it("records a submit once, and a submitted job is never claimed again", async () => {
        const job = await submitted();
        await expect(store.recordSubmit(job.id, 1, work())).rejects.toThrow(JobStateConflictError);
        expect(await store.claim(job.id, 60_000)).toMatchObject({ claimed: false, job: { checkSeq: 1 } });
      });

      it("lets only the check the row waits for claim it, while no lease is live", async () => {
        const job = await submitted();
        expect(await store.claimCheck(job.id, 2, 60_000)).toMatchObject({ claimed: false });
        const held = await store.claimCheck(job.id, 1, 60_000);
        expect(held).toMatchObject({ claimed: true, job: { attempt: 1, checkSeq: 1 } });
        expect(await store.claimCheck(job.id, 1, 60_000)).toMatchObject({ claimed: false });
        expect(await store.claimCheck(randomUUID(), 1, 60_000)).toEqual({ claimed: false, job: undefined });
      });

      it("a check claim tried again with its own token answers claimed; another check's token loses", async () => {
        const job = await submitted();
        const held = await store.claimCheck(job.id, 1, 60_000, "check-1");
        expect(parses(held.job)).toMatchObject({ checkSeq: 1, claimToken: "check-1" });
        expect(await store.claimCheck(job.id, 1, 60_000, "check-1")).toEqual({
          claimed: true,
          job: held.job,
        });
        expect((await store.claimCheck(job.id, 1, 60_000, "duplicate")).claimed).toBe(false);
        expect((await store.claimCheck(job.id, 2, 60_000, "check-1")).claimed).toBe(false);
      });

      it("moves checkSeq on with each recorded check; duplicate and stale checks lose", async () => {
        const job = await submitted();
        await store.claimCheck(job.id, 1, 60_000);
        const pending = await store.recordCheck(
          job.id,
          { check: 1, attempt: 1 },
          { progress: { current: 3 }, estimatedCompletion: "2030-01-01T00:00:00.000Z", nextCheckAt: 5 },
        );
        expect(parses(pending)).toMatchObject({
          checkSeq: 2,
          nextCheckAt: 5,
          leaseExpiresAt: 0,
          progress: { current: 3 },
          stateJson: '{"externalId":"x"}',
        });
        await expect(store.recordCheck(job.id, { check: 1, attempt: 1 }, { nextCheckAt: 6 })).rejects.toThrow(
          JobStateConflictError,
        );
        await expect(store.complete(job.id, 1, '"stale"', 1)).rejects.toThrow(JobStateConflictError);
        const done = await store.complete(job.id, 1, '"done"', 2);
        expect(done).toMatchObject({ status: "completed", resultJson: '"done"' });
        expect(done).not.toHaveProperty("nextCheckAt");
      });

      it("retries a check with attempt + 1 and keeps the state and checkSeq", async () => {
        const job = await submitted();
        const retried = await store.retryCheck(job.id, { check: 1, attempt: 1 }, transient);
        expect(retried).toMatchObject({
          attempt: 2,
          checkSeq: 1,
          lastError: transient,
          stateJson: '{"externalId":"x"}',
        });
        await expect(store.retryCheck(job.id, { check: 1, attempt: 1 }, transient)).rejects.toThrow(
          JobStateConflictError,
        );
        const failed = await store.fail(job.id, 2, { code: "x", message: "gone", retryable: false }, 1);
        expect(failed).toMatchObject({ status: "failed", attempt: 2 });
      });

      it("marks cancel(state) as called once, and only for a cancelled or failed job", async () => {
        const job = await submitted();
        expect(await store.markCancelCalled(job.id)).toBe(false);
        const cancelled = await store.cancel(job.id, job.owner);
        expect(cancelled).not.toHaveProperty("nextCheckAt");
        expect(await store.markCancelCalled(job.id)).toBe(true);
        expect(await store.markCancelCalled(job.id)).toBe(false);
        const row = await store.get(job.id);
        expect(row?.cancelCalledAt).toBeDefined();
        expect(row?.updatedAt).toBe(cancelled.updatedAt);
        expect(await store.markCancelCalled(randomUUID())).toBe(false);
      });

      it("gives a failed cancel call's marker back until maxCalls calls have failed", async () => {
        const job = await submitted();
        await store.cancel(job.id, job.owner);
        expect(await store.releaseFailedCancel(job.id, 3)).toBe(false);
        for (const failures of [1, 2]) {
          expect(await store.markCancelCalled(job.id)).toBe(true);
          expect(await store.releaseFailedCancel(job.id, 3)).toBe(true);
          expect(parses(await store.get(job.id))).toMatchObject({ cancelFailures: failures });
          expect(await store.get(job.id)).not.toHaveProperty("cancelCalledAt");
        }
        // The third failed call is the last: the marker stays, so no fourth call is marked.
        expect(await store.markCancelCalled(job.id)).toBe(true);
        expect(await store.releaseFailedCancel(job.id, 3)).toBe(false);
        expect(await store.markCancelCalled(job.id)).toBe(false);
        expect(await store.releaseFailedCancel(randomUUID(), 3)).toBe(false);
      });
    });

    describe("caller quotas", () => {
      it("countActive counts queued and running jobs, up to atMost", async () => {
        const owner = uniqueOwner();
        expect(await store.countActive(owner, 10)).toBe(0);
        const jobs = [];
        for (let i = 0; i < 4; i++) jobs.push(await created(newJob({ owner })));
        const [a, b, c] = jobs.map((job) => job.id) as [string, string, string, string];
        await store.claim(a, 60_000);
        expect(await store.countActive(owner, 10)).toBe(4);
        expect(await store.countActive(owner, 2)).toBe(2);

        await store.complete(a, 1, "{}");
        await store.cancel(b, owner);
        await store.failOpen(c, transient);
        expect(await store.countActive(owner, 10)).toBe(1);
        expect(await store.countActive(uniqueOwner(), 10)).toBe(0);
      });

      it("countActive leaves out open jobs that have expired but are not deleted yet", async () => {
        const owner = uniqueOwner();
        await created(newJob({ owner }));
        await created(newJob({ owner, expiresAt: epochSeconds() - 1 }));
        expect(await store.countActive(owner, 10)).toBe(1);
      });

      it("tryRecordStart allows `limit` starts per owner and calendar minute", async () => {
        const minuteStart = Math.floor(Date.now() / 60_000) * 60_000;
        const clock = new FrozenClock(minuteStart + 1_000);
        const clocked = storeWith(clock);
        const owner = uniqueOwner();

        expect(await clocked.tryRecordStart(owner, 2)).toBe(true);
        expect(await clocked.tryRecordStart(owner, 2)).toBe(true);
        expect(await clocked.tryRecordStart(owner, 2)).toBe(false);
        expect(await clocked.tryRecordStart(uniqueOwner(), 2)).toBe(true);
        clock.advance(58_000);
        expect(await clocked.tryRecordStart(owner, 2)).toBe(false);
        clock.advance(1_000);
        expect(await clocked.tryRecordStart(owner, 2)).toBe(true);
        // A raised limit applies at once.
        expect(await clocked.tryRecordStart(owner, 3)).toBe(true);
      });

      it("releaseStart gives back one start counted in the minute it names, never below zero", async () => {
        const minuteStart = Math.floor(Date.now() / 60_000) * 60_000;
        const clocked = storeWith(new FrozenClock(minuteStart + 30_000));
        const owner = uniqueOwner();
        const earlier = minuteStart - 60_000 + 10_000;

        // Counted in the minute of atMs, not in the clock's.
        expect(await clocked.tryRecordStart(owner, 1, earlier)).toBe(true);
        expect(await clocked.tryRecordStart(owner, 1, earlier)).toBe(false);
        expect(await clocked.tryRecordStart(owner, 1)).toBe(true);
        expect(await clocked.tryRecordStart(owner, 1)).toBe(false);

        await clocked.releaseStart(owner, earlier + 40_000);
        expect(await clocked.tryRecordStart(owner, 1, earlier)).toBe(true);
        // The current minute was left alone.
        expect(await clocked.tryRecordStart(owner, 1)).toBe(false);

        // Nothing to give back: no counter is made and none goes below zero.
        const other = uniqueOwner();
        await clocked.releaseStart(other, minuteStart + 1_000);
        expect(await clocked.tryRecordStart(other, 1)).toBe(true);
        expect(await clocked.tryRecordStart(other, 1)).toBe(false);
      });
    });
  });
}
