import { beforeAll, describe, expect, it } from "vitest";
import type { JobRow } from "../../lambdas/shared/domain/job.js";
import type { NotificationTarget } from "../../lambdas/shared/domain/notifications.js";
import type { AttemptTarget, Clock, JobStore, NotificationStore } from "../../lambdas/shared/domain/ports.js";
import { epochSeconds, FrozenClock, newJob } from "../support/worker-kit.js";

/** A notification store and the job store over the same rows, both reading time from `clock`. */
export interface NotificationStores {
  readonly notifications: NotificationStore;
  readonly jobs: JobStore;
}

/** Stores over one shared set of rows, each pair with its own clock (the system clock when none is given). */
export type NotificationStoresFactory = (clock?: Clock) => NotificationStores;

const LEASE_MS = 10_000;

function pending(webhookId: string): NotificationTarget {
  return { webhookId, url: "https://hooks.example.com/done", status: "pending", attempts: 0 };
}

/** Attempt `expectedAttempts + 1` of the target at `index`. */
function attempt(index: number, webhookId: string, expectedAttempts: number): AttemptTarget {
  return { index, webhookId, expectedAttempts };
}

/**
 * The rules every `NotificationStore` keeps, as tests: the queued marker is set once; one worker
 * holds an attempt while its lease runs; an attempt is recorded, or a target given up, only by the
 * writer at the attempt the target is at while it is pending; unknown rows change nothing and
 * expired rows read as gone. Run it with a factory for the adapter.
 */
export function describeNotificationStoreContract(
  adapter: string,
  setup: () => Promise<NotificationStoresFactory>,
): void {
  describe(`NotificationStore contract: ${adapter}`, () => {
    let storesWith: NotificationStoresFactory;

    beforeAll(async () => {
      storesWith = await setup();
    });

    /** A job whose row carries the given targets (two by default), created through `stores`' job store. */
    async function jobWithTargets(
      stores: NotificationStores,
      targets: NotificationTarget[] = [pending("msg_caller"), pending("msg_default")],
      expiresAt?: number,
    ): Promise<JobRow> {
      const job = { ...newJob(expiresAt === undefined ? {} : { expiresAt }), notifications: targets };
      return (await stores.jobs.create(job)).job;
    }

    async function targetOf(stores: NotificationStores, id: string, index = 0): Promise<NotificationTarget> {
      const target = (await stores.notifications.get(id))?.notifications?.[index];
      if (!target) throw new Error(`no target ${index} on ${id}`);
      return target;
    }

    describe("markNotificationsQueued", () => {
      it("records once: the first call is true, every later one false, for any worker", async () => {
        const clock = new FrozenClock(Date.now());
        const stores = storesWith(clock);
        const job = await jobWithTargets(stores);

        expect(await stores.notifications.markNotificationsQueued(job.id)).toBe(true);
        const marked = await stores.notifications.get(job.id);
        expect(marked?.notificationsQueuedAt).toBe(new Date(clock.now()).toISOString());

        clock.advance(1_000);
        expect(await stores.notifications.markNotificationsQueued(job.id)).toBe(false);
        expect(await storesWith().notifications.markNotificationsQueued(job.id)).toBe(false);
        expect((await stores.notifications.get(job.id))?.notificationsQueuedAt).toBe(
          marked?.notificationsQueuedAt,
        );
      });

      it("touches nothing of the job itself", async () => {
        const stores = storesWith(new FrozenClock(Date.now()));
        const job = await jobWithTargets(stores);
        expect(await stores.notifications.markNotificationsQueued(job.id)).toBe(true);
        const marked = await stores.notifications.get(job.id);
        expect(marked?.notificationsQueuedAt).toBeDefined();
        expect({ ...marked, notificationsQueuedAt: undefined }).toEqual({
          ...job,
          notificationsQueuedAt: undefined,
        });
      });
    });

    describe("claimAttempt", () => {
      it("one holder per attempt while its lease runs; another worker's claim is refused; a lapsed lease may be taken again", async () => {
        const clock = new FrozenClock(Date.now());
        const stores = storesWith(clock);
        const job = await jobWithTargets(stores);
        const first = attempt(0, "msg_caller", 0);

        expect(await stores.notifications.claimAttempt(job.id, first, LEASE_MS)).toBe(true);
        expect((await targetOf(stores, job.id)).attemptLeaseUntil).toBe(clock.now() + LEASE_MS);
        expect(await stores.notifications.claimAttempt(job.id, first, LEASE_MS)).toBe(false);
        expect(await storesWith(clock).notifications.claimAttempt(job.id, first, LEASE_MS)).toBe(false);

        clock.advance(LEASE_MS + 1_000);
        expect(await stores.notifications.claimAttempt(job.id, first, LEASE_MS)).toBe(true);
      });

      it("two targets of one job are fenced apart", async () => {
        const stores = storesWith(new FrozenClock(Date.now()));
        const job = await jobWithTargets(stores);
        expect(await stores.notifications.claimAttempt(job.id, attempt(0, "msg_caller", 0), LEASE_MS)).toBe(
          true,
        );
        expect(await stores.notifications.claimAttempt(job.id, attempt(1, "msg_default", 0), LEASE_MS)).toBe(
          true,
        );
      });

      it("is refused for another webhook id, another attempt, or a target that is no longer pending", async () => {
        const stores = storesWith(new FrozenClock(Date.now()));
        const job = await jobWithTargets(stores, [
          pending("msg_a"),
          { ...pending("msg_b"), status: "delivered", attempts: 1 },
        ]);
        expect(await stores.notifications.claimAttempt(job.id, attempt(0, "msg_other", 0), LEASE_MS)).toBe(
          false,
        );
        expect(await stores.notifications.claimAttempt(job.id, attempt(0, "msg_a", 1), LEASE_MS)).toBe(false);
        expect(await stores.notifications.claimAttempt(job.id, attempt(1, "msg_b", 1), LEASE_MS)).toBe(false);
        expect((await targetOf(stores, job.id)).attemptLeaseUntil).toBeUndefined();
      });
    });

    describe("recordAttempt", () => {
      it("records attempt expectedAttempts + 1 and gives up its lease, so the next attempt may be claimed at once", async () => {
        const clock = new FrozenClock(Date.now());
        const stores = storesWith(clock);
        const job = await jobWithTargets(stores);
        const first = attempt(0, "msg_caller", 0);
        await stores.notifications.claimAttempt(job.id, first, LEASE_MS);

        expect(
          await stores.notifications.recordAttempt(job.id, first, {
            status: "pending",
            lastError: "HTTP 503",
          }),
        ).toBe(true);
        expect(await targetOf(stores, job.id)).toEqual({
          ...pending("msg_caller"),
          attempts: 1,
          lastError: "HTTP 503",
          lastAttemptAt: new Date(clock.now()).toISOString(),
        });
        expect(await stores.notifications.claimAttempt(job.id, attempt(0, "msg_caller", 1), LEASE_MS)).toBe(
          true,
        );
      });

      it("is fenced by the attempt: a stale or duplicate record, or one after the target ended, changes nothing", async () => {
        const stores = storesWith(new FrozenClock(Date.now()));
        const job = await jobWithTargets(stores);
        const first = attempt(0, "msg_caller", 0);

        expect(
          await stores.notifications.recordAttempt(job.id, first, {
            status: "pending",
            lastError: "timeout",
          }),
        ).toBe(true);
        expect(await stores.notifications.recordAttempt(job.id, first, { status: "delivered" })).toBe(false);
        expect(
          await stores.notifications.recordAttempt(job.id, attempt(0, "msg_default", 1), {
            status: "delivered",
          }),
        ).toBe(false);
        expect(
          await stores.notifications.recordAttempt(job.id, attempt(0, "msg_caller", 1), {
            status: "delivered",
          }),
        ).toBe(true);
        expect(
          await stores.notifications.recordAttempt(job.id, attempt(0, "msg_caller", 2), {
            status: "pending",
          }),
        ).toBe(false);

        // An attempt that reports no error leaves the earlier one's.
        expect(await targetOf(stores, job.id)).toMatchObject({
          status: "delivered",
          attempts: 2,
          lastError: "timeout",
        });
      });

      it("touches only the one target", async () => {
        const stores = storesWith(new FrozenClock(Date.now()));
        const job = await jobWithTargets(stores);
        await stores.notifications.recordAttempt(job.id, attempt(1, "msg_default", 0), {
          status: "delivered",
        });
        const row = await stores.notifications.get(job.id);
        expect(row?.notifications?.[0]).toEqual(pending("msg_caller"));
        expect(row?.notifications?.[1]).toMatchObject({ status: "delivered", attempts: 1 });
        expect({ ...row, notifications: undefined }).toEqual({ ...job, notifications: undefined });
      });
    });

    describe("giveUp", () => {
      it("ends a pending target at expectedAttempts as failed, its attempts unchanged and its lease given up", async () => {
        const clock = new FrozenClock(Date.now());
        const stores = storesWith(clock);
        const job = await jobWithTargets(stores);
        await stores.notifications.recordAttempt(job.id, attempt(0, "msg_caller", 0), {
          status: "pending",
          lastError: "HTTP 500",
        });
        await stores.notifications.claimAttempt(job.id, attempt(0, "msg_caller", 1), LEASE_MS);

        expect(await stores.notifications.giveUp(job.id, attempt(0, "msg_caller", 1), "gave up")).toBe(true);
        const target = await targetOf(stores, job.id);
        expect(target).toMatchObject({ status: "failed", attempts: 1, lastError: "gave up" });
        expect(target.attemptLeaseUntil).toBeUndefined();
      });

      it("only from pending at expectedAttempts: at another attempt, or once ended, it changes nothing", async () => {
        const stores = storesWith(new FrozenClock(Date.now()));
        const job = await jobWithTargets(stores);
        expect(await stores.notifications.giveUp(job.id, attempt(0, "msg_caller", 1), "late")).toBe(false);
        expect(await targetOf(stores, job.id)).toEqual(pending("msg_caller"));

        await stores.notifications.recordAttempt(job.id, attempt(0, "msg_caller", 0), {
          status: "delivered",
        });
        expect(await stores.notifications.giveUp(job.id, attempt(0, "msg_caller", 1), "late")).toBe(false);
        expect(await targetOf(stores, job.id)).toMatchObject({ status: "delivered", attempts: 1 });
        expect((await targetOf(stores, job.id)).lastError).toBeUndefined();
      });
    });

    describe("missing and expired rows", () => {
      it("an unknown id: every write is false and no row appears", async () => {
        const { notifications } = storesWith();
        const unknown = newJob().id;
        expect(await notifications.markNotificationsQueued(unknown)).toBe(false);
        expect(await notifications.claimAttempt(unknown, attempt(0, "msg_caller", 0), LEASE_MS)).toBe(false);
        expect(
          await notifications.recordAttempt(unknown, attempt(0, "msg_caller", 0), { status: "delivered" }),
        ).toBe(false);
        expect(await notifications.giveUp(unknown, attempt(0, "msg_caller", 0), "x")).toBe(false);
        expect(await notifications.get(unknown)).toBeUndefined();
      });

      it("an expired row reads as gone", async () => {
        const clock = new FrozenClock(Date.now());
        const stores = storesWith(clock);
        const job = await jobWithTargets(stores, undefined, epochSeconds(clock.now()) + 60);
        expect(await stores.notifications.get(job.id)).toEqual(job);
        clock.advance(61_000);
        expect(await stores.notifications.get(job.id)).toBeUndefined();
      });

      it("a target the row does not have: false; an index outside the list's bounds is refused before any write", async () => {
        const stores = storesWith(new FrozenClock(Date.now()));
        const job = await jobWithTargets(stores, [pending("msg_only")]);
        expect(await stores.notifications.claimAttempt(job.id, attempt(1, "msg_only", 0), LEASE_MS)).toBe(
          false,
        );
        for (const index of [-1, 1.5, 2]) {
          await expect(
            stores.notifications.claimAttempt(job.id, attempt(index, "msg_only", 0), LEASE_MS),
          ).rejects.toThrow(RangeError);
          await expect(
            stores.notifications.recordAttempt(job.id, attempt(index, "msg_only", 0), {
              status: "delivered",
            }),
          ).rejects.toThrow(RangeError);
          await expect(
            stores.notifications.giveUp(job.id, attempt(index, "msg_only", 0), "x"),
          ).rejects.toThrow(RangeError);
        }
        expect(await stores.notifications.get(job.id)).toEqual(job);
      });
    });
  });
}
