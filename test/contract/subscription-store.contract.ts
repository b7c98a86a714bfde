import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { type EventSubscription, EventSubscriptionSchema } from "../../lambdas/shared/domain/events.js";
import type { Clock, EventSubscriptionStore } from "../../lambdas/shared/domain/ports.js";
import { epochSeconds, TestClock } from "../support/worker-kit.js";

/** Stores over one shared set of items, each reading time from its own clock. */
export type SubscriptionStoreFactory = (clock?: Clock) => EventSubscriptionStore;

let sequence = 0;

/** A subscription of `owner` living `ttlSeconds` from `nowMs`. */
export function subscriptionOf(
  owner: string,
  nowMs: number,
  overrides: Partial<EventSubscription> = {},
  ttlSeconds = 3_600,
): EventSubscription {
  sequence += 1;
  const at = new Date(nowMs).toISOString();
  return {
    id: `sub_${randomUUID().replaceAll("-", "")}${String(sequence).padStart(8, "0")}`,
    owner,
    name: "job.finished",
    filter: {},
    url: "https://hooks.example.com/mcp?mcp_event_subscription=abc",
    secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    createdAt: at,
    refreshedAt: at,
    expiresAt: epochSeconds(nowMs) + ttlSeconds,
    ...overrides,
  };
}

/**
 * The rules every subscription store keeps: scoped by owner, expired items read as gone, a put
 * with the same id replaces, every item read parses. Run it with a factory for the adapter.
 */
export function describeSubscriptionStoreContract(
  adapter: string,
  setup: () => Promise<SubscriptionStoreFactory>,
): void {
  describe(`EventSubscriptionStore contract: ${adapter}`, () => {
    let storeWith: SubscriptionStoreFactory;
    let store: EventSubscriptionStore;

    beforeAll(async () => {
      storeWith = await setup();
      store = storeWith();
    });

    const owner = (): string => `key:${randomUUID()}`;

    it("stores a subscription, secret included, and reads it back for its owner only", async () => {
      const alice = owner();
      const subscription = subscriptionOf(alice, Date.now(), { filter: { type: "slow_api" } });
      await store.put(subscription);

      const read = await store.get(alice, subscription.id);
      expect(EventSubscriptionSchema.strict().parse(read)).toEqual(subscription);
      expect(await store.get(owner(), subscription.id)).toBeUndefined();
      expect(await store.listActive(alice)).toEqual([subscription]);
      expect(await store.listActive(owner())).toEqual([]);
    });

    it("lists every unexpired subscription of an owner and none that expired", async () => {
      const alice = owner();
      const now = Date.now();
      const live = [
        subscriptionOf(alice, now),
        subscriptionOf(alice, now, { filter: { jobId: randomUUID() } }),
      ];
      const expired = subscriptionOf(alice, now - 7_200_000, {}, 3_600);
      for (const item of [...live, expired]) await store.put(item);

      const listed = await store.listActive(alice);
      expect(listed.map((item) => item.id).sort()).toEqual(live.map((item) => item.id).sort());
      expect(await store.get(alice, expired.id)).toBeUndefined();
    });

    it("a put with the same id replaces the subscription (a refresh: new TTL, new secret)", async () => {
      const alice = owner();
      const first = subscriptionOf(alice, Date.now());
      await store.put(first);
      const refreshed = {
        ...first,
        secret: "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=",
        expiresAt: first.expiresAt + 600,
        refreshedAt: new Date(Date.now() + 1_000).toISOString(),
      };
      await store.put(refreshed);

      expect(await store.get(alice, first.id)).toEqual(refreshed);
      expect(await store.listActive(alice)).toHaveLength(1);
    });

    it("remove deletes only the owner's own subscription, and says whether there was one", async () => {
      const alice = owner();
      const subscription = subscriptionOf(alice, Date.now());
      await store.put(subscription);

      expect(await store.remove(owner(), subscription.id)).toBe(false);
      expect(await store.get(alice, subscription.id)).toEqual(subscription);
      expect(await store.remove(alice, subscription.id)).toBe(true);
      expect(await store.get(alice, subscription.id)).toBeUndefined();
      expect(await store.remove(alice, subscription.id)).toBe(false);
    });

    it("a subscription expires by the reader's clock", async () => {
      const alice = owner();
      const clock = new TestClock();
      const subscription = subscriptionOf(alice, clock.now(), {}, 60);
      await store.put(subscription);
      const later = storeWith(clock);
      expect(await later.get(alice, subscription.id)).toEqual(subscription);

      clock.advance(61_000);
      expect(await later.get(alice, subscription.id)).toBeUndefined();
      expect(await later.listActive(alice)).toEqual([]);
    });

    it("refuses to store a malformed subscription", async () => {
      const bad = { ...subscriptionOf(owner(), Date.now()), id: "not-a-subscription-id" };
      await expect(store.put(bad)).rejects.toThrow();
    });
  });
}
