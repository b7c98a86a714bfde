import { describe, expect, it } from "vitest";
import { MemorySubscriptionStore } from "../../lambdas/shared/adapters/memory-subscription-store.js";
import { generateWebhookSecret } from "../../lambdas/shared/adapters/standard-webhooks.js";
import { EventsRequestError } from "../../lambdas/shared/domain/events.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { ChallengeOutcome, SubscriptionChallenger } from "../../lambdas/shared/domain/ports.js";
import { EventSubscriptions, subscriptionId } from "../../lambdas/shared/usecases/event-subscriptions.js";
import { TestClock } from "../support/worker-kit.js";

const OWNER = "key:alice";
const URL_ = "https://agent.example.com/events?mcp_event_subscription=k1";
const DAY_MS = 24 * 60 * 60 * 1000;

/** Answers every challenge with `outcome` and remembers what it was asked. */
class FakeChallenger implements SubscriptionChallenger {
  readonly asked: Array<{ url: string; subscriptionId: string; secret: string }> = [];
  constructor(private readonly outcome: ChallengeOutcome = { ok: true }) {}
  async challenge(request: {
    url: string;
    subscriptionId: string;
    secret: string;
  }): Promise<ChallengeOutcome> {
    this.asked.push(request);
    return this.outcome;
  }
}

function subject(outcome?: ChallengeOutcome, maxPerCaller = 20) {
  const clock = new TestClock(Date.parse("2026-12-07T12:00:00.000Z"));
  const store = new MemorySubscriptionStore(clock);
  const challenger = new FakeChallenger(outcome);
  const events = new EventSubscriptions({
    store,
    challenger,
    clock,
    log: silentLog,
    settings: { maxPerCaller, allowedOrigins: [], allowLoopback: false },
  });
  return { events, store, challenger, clock };
}

const params = (secret: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: "job.finished",
  arguments: {},
  delivery: { mode: "webhook", url: URL_, secret },
  cursor: null,
  ...extra,
});

describe("EventSubscriptions", () => {
  it("challenges the URL with the id it will answer, then stores the subscription for 24 h", async () => {
    const { events, store, challenger } = subject();
    const secret = generateWebhookSecret();
    const result = await events.subscribe(OWNER, params(secret));

    expect(result).toEqual({
      id: subscriptionId(OWNER, URL_, "job.finished", {}),
      refreshBefore: "2026-12-08T12:00:00.000Z",
      cursor: null,
      truncated: false,
    });
    expect(challenger.asked).toEqual([{ url: URL_, subscriptionId: result.id, secret }]);
    expect(await store.get(OWNER, result.id)).toMatchObject({ url: URL_, secret, filter: {} });
  });

  it("the id depends on caller, URL and arguments, not on key order or the secret", () => {
    const base = subscriptionId(OWNER, URL_, "job.finished", { jobId: "a", type: "t" });
    expect(subscriptionId(OWNER, URL_, "job.finished", { type: "t", jobId: "a" })).toBe(base);
    expect(subscriptionId("key:bob", URL_, "job.finished", { jobId: "a", type: "t" })).not.toBe(base);
    expect(subscriptionId(OWNER, `${URL_}2`, "job.finished", { jobId: "a", type: "t" })).not.toBe(base);
    expect(subscriptionId(OWNER, URL_, "job.finished", { jobId: "a" })).not.toBe(base);
  });

  it("subscribing again refreshes: same id, a new lifetime, the new secret, the first createdAt", async () => {
    const { events, store, clock } = subject();
    const first = await events.subscribe(OWNER, params(generateWebhookSecret()));
    const created = (await store.get(OWNER, first.id))?.createdAt;
    clock.advance(60 * 60 * 1000);
    const rotated = generateWebhookSecret();
    const again = await events.subscribe(OWNER, params(rotated));

    expect(again.id).toBe(first.id);
    expect(Date.parse(again.refreshBefore) - Date.parse(first.refreshBefore)).toBe(60 * 60 * 1000);
    expect(await store.get(OWNER, first.id)).toMatchObject({ secret: rotated, createdAt: created });
    expect(await store.listActive(OWNER)).toHaveLength(1);
  });

  it("grants ttlMs within 1 min and 7 days; null asks for the longest", async () => {
    const cases: Array<[unknown, number]> = [
      [1_000, 60_000],
      [2 * DAY_MS, 2 * DAY_MS],
      [30 * DAY_MS, 7 * DAY_MS],
      [null, 7 * DAY_MS],
    ];
    for (const [ttlMs, granted] of cases) {
      const { events, clock } = subject();
      const result = await events.subscribe(OWNER, params(generateWebhookSecret(), { ttlMs }));
      expect(Date.parse(result.refreshBefore) - clock.now(), String(ttlMs)).toBeLessThanOrEqual(granted);
      expect(Date.parse(result.refreshBefore) - clock.now(), String(ttlMs)).toBeGreaterThan(granted - 1_000);
    }
  });

  it("a failed challenge stores nothing and names the reason", async () => {
    const { events, store } = subject({ ok: false, reason: "timeout", detail: "no answer within 10 s" });
    const refused = await events
      .subscribe(OWNER, params(generateWebhookSecret()))
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(EventsRequestError);
    expect(refused).toMatchObject({ code: -32015, data: { reason: "timeout" } });
    expect(await store.listActive(OWNER)).toEqual([]);
  });

  it("refuses past the limit without calling the URL", async () => {
    const { events, challenger } = subject(undefined, 1);
    await events.subscribe(OWNER, params(generateWebhookSecret()));
    const other = { ...params(generateWebhookSecret()), arguments: { type: "slow_api" } };
    await expect(events.subscribe(OWNER, other)).rejects.toMatchObject({ code: -32013, data: { limit: 1 } });
    expect(challenger.asked).toHaveLength(1);
  });

  it("unsubscribe removes only the caller's own subscription and answers {} either way", async () => {
    const { events, store } = subject();
    const { id } = await events.subscribe(OWNER, params(generateWebhookSecret()));
    const request = { name: "job.finished", arguments: {}, delivery: { mode: "webhook", url: URL_ } };
    expect(await events.unsubscribe("key:bob", request)).toEqual({});
    expect(await store.get(OWNER, id)).toBeDefined();
    expect(await events.unsubscribe(OWNER, request)).toEqual({});
    expect(await store.get(OWNER, id)).toBeUndefined();
  });

  it("a malformed secret is refused without quoting it", async () => {
    const { events } = subject();
    const secret = "whsec_dG9vLXNob3J0";
    const error = await events.subscribe(OWNER, params(secret)).then(
      () => undefined,
      (thrown: unknown) => thrown as EventsRequestError,
    );
    expect(error).toMatchObject({ code: -32602 });
    expect(error?.message).not.toContain("dG9vLXNob3J0");
  });
});
