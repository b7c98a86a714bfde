import type { CallbackFailure, DeliveryMessage, EventSubscription } from "./events.js";
import type { JobRow } from "./job.js";
import type { NotificationStatus, NotificationTarget } from "./notifications.js";

// Ports of completion webhooks and MCP Events (re-exported by ports.ts).

// Completion webhooks: the outbox, the delivery worker and the sender.

/** The outcome of one attempt, as the delivery worker records it. */
export interface AttemptRecord {
  readonly status: NotificationStatus;
  readonly lastError?: string;
}

/** The job table as the notification outbox and the delivery worker use it. */
export interface NotificationStore {
  /** Consistent read; a missing or expired row reads as undefined. */
  get(id: string): Promise<JobRow | undefined>;
  /** Records that the notification messages of an ended job are on the queue; false if already recorded. */
  markNotificationsQueued(id: string): Promise<boolean>;
  /** Takes attempt `expectedAttempts + 1` for `leaseMs`; false when another worker holds or made it. */
  claimAttempt(id: string, target: AttemptTarget, leaseMs: number): Promise<boolean>;
  /** Records attempt `expectedAttempts + 1` of one target; false when another attempt got there first. */
  recordAttempt(id: string, target: AttemptTarget, record: AttemptRecord): Promise<boolean>;
  /**
   * Ends a target that is still `pending` at `expectedAttempts` as `failed` with `lastError`, its
   * attempts unchanged (no attempt was made); false when it moved on or ended meanwhile.
   */
  giveUp(id: string, target: AttemptTarget, lastError: string): Promise<boolean>;
}

/** Which target (its place in the row's list and its id) and which attempt a write is about. */
export interface AttemptTarget {
  readonly index: number;
  readonly webhookId: string;
  readonly expectedAttempts: number;
}

/** The notification queue: completion webhooks and MCP Events deliveries ride it alike. */
export interface NotificationQueue {
  send(message: DeliveryMessage, delaySeconds: number): Promise<void>;
}

/** Delays the redelivery of a message that arrived before its `notBefore`. */
export interface NotificationWait {
  waitFor(receiptHandle: string, seconds: number): Promise<void>;
}

/** What one signed attempt came to. */
export type AttemptOutcome =
  | { readonly kind: "delivered"; readonly status: number }
  /** The receiver or the rules say never again: 410 Gone, a redirect, a refused address. */
  | { readonly kind: "stop"; readonly reason: string; readonly gone?: boolean }
  /** Anything else: another status, a timeout, a connection error. */
  | { readonly kind: "retry"; readonly reason: string };

/** Where one signed POST goes and how it is signed. */
export interface WebhookPost extends Pick<NotificationTarget, "url" | "webhookId"> {
  /** The `whsec_…` secret to sign with. @default the deployment's webhook secret */
  readonly secret?: string;
  /** Headers sent besides the Standard Webhooks ones. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Makes one signed POST of an event body to a target. */
export interface WebhookSender {
  send(target: WebhookPost, body: string): Promise<AttemptOutcome>;
}

// MCP Events: subscriptions, split by consumer like the job table.

/** What the outbox needs when a job ends: the subscriptions that may hear of it. */
export interface SubscriptionLister {
  /** The owner's unexpired subscriptions, in one query. */
  listActive(owner: string): Promise<EventSubscription[]>;
}

/** What an event delivery needs: the subscription (and its secret) at send time, and ending it on 410. */
export interface SubscriptionDeliveryStore {
  /** Consistent read; an expired or unknown subscription reads as undefined. */
  get(owner: string, id: string): Promise<EventSubscription | undefined>;
  /** Deletes it; false when there was none. */
  remove(owner: string, id: string): Promise<boolean>;
}

/**
 * Fences the attempts of one event delivery (one subscription, one job), as the job row fences a
 * callback target's: kept in the job's row, so it expires with the job.
 */
export interface EventAttemptFence {
  /**
   * Takes attempt `attempt` of event `eventId` for `leaseMs`; false when another worker holds it,
   * it was made already, or a later attempt began (a duplicate or stale message sends nothing).
   */
  claimEventAttempt(jobId: string, eventId: string, attempt: number, leaseMs: number): Promise<boolean>;
  /** Records attempt `attempt` as made: it is never claimed again, while the next one may be. */
  settleEventAttempt(jobId: string, eventId: string, attempt: number): Promise<void>;
}

/** Every port over the subscription store: what an adapter implements and the events use case takes. */
export interface EventSubscriptionStore extends SubscriptionLister, SubscriptionDeliveryStore {
  /** Creates the subscription, or replaces the one with its id (a refresh). */
  put(subscription: EventSubscription): Promise<void>;
}

/** What a verification challenge came to. */
export type ChallengeOutcome =
  | { readonly ok: true }
  /** `detail` is short and secret-free: a status code, a timeout, a refusal by the outbound rules. */
  | { readonly ok: false; readonly reason: CallbackFailure; readonly detail: string };

/** Proves that a subscriber's URL answers for it before the subscription is stored. */
export interface SubscriptionChallenger {
  challenge(request: {
    readonly url: string;
    readonly subscriptionId: string;
    readonly secret: string;
  }): Promise<ChallengeOutcome>;
}
