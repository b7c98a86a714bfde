import { describe, expect, it } from "vitest";
import { MemoryEventAttemptFence } from "../../lambdas/shared/adapters/memory-event-attempt-fence.js";
import { MemoryJobStore } from "../../lambdas/shared/adapters/memory-job-store.js";
import { MemorySubscriptionStore } from "../../lambdas/shared/adapters/memory-subscription-store.js";
import type { EventMessage, EventSubscription } from "../../lambdas/shared/domain/events.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { AttemptOutcome, WebhookPost, WebhookSender } from "../../lambdas/shared/domain/ports.js";
import {
  deliverEvent,
  type EventDeliveryDeps,
  eventIdOf,
} from "../../lambdas/shared/usecases/deliver-event.js";
import { subscriptionOf } from "../contract/subscription-store.contract.js";
import { newJob, TestClock } from "../support/worker-kit.js";

/** Records every POST and answers with the next scripted outcome (delivered when none is left). */
class ScriptedSender implements WebhookSender {
  readonly posts: Array<{ target: WebhookPost; body: Record<string, unknown> }> = [];
  constructor(private readonly outcomes: AttemptOutcome[] = []) {}
  async send(target: WebhookPost, body: string): Promise<AttemptOutcome> {
    this.posts.push({ target, body: JSON.parse(body) as Record<string, unknown> });
    return this.outcomes.shift() ?? { kind: "delivered", status: 204 };
  }
}

interface World {
  readonly deps: EventDeliveryDeps;
  readonly sender: ScriptedSender;
  readonly subscriptions: MemorySubscriptionStore;
  readonly subscription: EventSubscription;
  readonly message: EventMessage;
  readonly clock: TestClock;
}

/** One cancelled job of one owner, one subscription of that owner, and the delivery's first message. */
async function world(outcomes: AttemptOutcome[] = [], subscriptionTtlSeconds = 3_600): Promise<World> {
  const clock = new TestClock();
  const jobs = new MemoryJobStore({ clock });
  const job = newJob({ owner: "key:alice" });
  await jobs.create(job);
  await jobs.cancel(job.id, job.owner);
  const subscriptions = new MemorySubscriptionStore(clock);
  const subscription = subscriptionOf(job.owner, clock.now(), {}, subscriptionTtlSeconds);
  await subscriptions.put(subscription);
  const sender = new ScriptedSender(outcomes);
  const deps: EventDeliveryDeps = {
    jobs,
    subscriptions,
    fence: new MemoryEventAttemptFence(clock),
    sender,
    settings: { retryDelaysSeconds: [5, 60], maxAttempts: 0, attemptLeaseMs: 15_000 },
    clock,
    log: silentLog,
  };
  return {
    deps,
    sender,
    subscriptions,
    subscription,
    clock,
    message: { jobId: job.id, subscriptionId: subscription.id, attempt: 1 },
  };
}

describe("deliverEvent", () => {
  it("posts one job.finished event signed with the subscription's own secret, its id as webhook-id", async () => {
    const { deps, sender, subscription, message } = await world();
    expect(await deliverEvent(deps, message)).toEqual({ kind: "done" });

    const eventId = eventIdOf(subscription.id, message.jobId);
    expect(sender.posts).toHaveLength(1);
    expect(sender.posts[0]?.target).toEqual({
      url: subscription.url,
      webhookId: eventId,
      secret: subscription.secret,
      headers: { "x-mcp-subscription-id": subscription.id },
    });
    expect(sender.posts[0]?.body).toEqual({
      eventId,
      name: "job.finished",
      timestamp: expect.any(String),
      data: expect.objectContaining({ jobId: message.jobId, status: "cancelled" }),
    });
    expect(sender.posts[0]?.body.data).not.toHaveProperty("notification");
  });

  it("a duplicate of a delivered attempt sends nothing", async () => {
    const { deps, sender, message } = await world();
    await deliverEvent(deps, message);
    await deliverEvent(deps, message);
    expect(sender.posts).toHaveLength(1);
  });

  it("a retried attempt schedules the next with the same eventId; the stale one then sends nothing", async () => {
    const { deps, sender, message, clock } = await world([
      { kind: "retry", reason: "HTTP 503 from the receiver" },
    ]);
    const decision = await deliverEvent(deps, message);
    expect(decision).toEqual({ kind: "next", message: { ...message, attempt: 2 }, delaySeconds: 5 });

    clock.advance(5_000);
    await deliverEvent(deps, { ...message, attempt: 2 });
    await deliverEvent(deps, message);
    expect(sender.posts.map((post) => post.target.webhookId)).toEqual([
      sender.posts[0]?.target.webhookId,
      sender.posts[0]?.target.webhookId,
    ]);
  });

  it("410 Gone ends the subscription; nothing more is sent to it", async () => {
    const gone: AttemptOutcome = { kind: "stop", reason: "HTTP 410 Gone", gone: true };
    const { deps, sender, subscriptions, subscription, message } = await world([gone]);
    expect(await deliverEvent(deps, message)).toEqual({ kind: "done" });
    expect(await subscriptions.get(subscription.owner, subscription.id)).toBeUndefined();
    expect(sender.posts).toHaveLength(1);
  });

  it("413 ends the event but keeps the subscription", async () => {
    const tooLarge: AttemptOutcome = { kind: "stop", reason: "HTTP 413 Content Too Large" };
    const { deps, subscriptions, subscription, message } = await world([tooLarge]);
    expect(await deliverEvent(deps, message)).toEqual({ kind: "done" });
    expect(await subscriptions.get(subscription.owner, subscription.id)).toEqual(subscription);
  });

  it("an unsubscribed subscription gets nothing", async () => {
    const { deps, sender, subscriptions, subscription, message } = await world();
    await subscriptions.remove(subscription.owner, subscription.id);
    expect(await deliverEvent(deps, message)).toEqual({ kind: "done" });
    expect(sender.posts).toHaveLength(0);
  });

  it("gives up rather than retry past the subscription's expiry", async () => {
    const retry: AttemptOutcome = { kind: "retry", reason: "timeout" };
    const { deps, sender, message } = await world([retry], 3);
    expect(await deliverEvent(deps, message)).toEqual({ kind: "done" });
    expect(sender.posts).toHaveLength(1);
  });
});
