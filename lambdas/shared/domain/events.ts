import * as z from "zod";
import { DomainError } from "./errors.js";
import type { NotificationMessage } from "./notifications.js";

/**
 * MCP Events (the draft extension's webhook profile): a caller subscribes a URL to an event and the
 * server POSTs each occurrence there, signed per Standard Webhooks with the subscription's secret.
 */
export const JOB_FINISHED_EVENT = "job.finished";

/** The filters `job.finished` takes: a subscription without them hears of every job of its caller. */
export const JobFinishedFilterSchema = z.strictObject({
  jobId: z.uuid().optional().describe("Only this job"),
  type: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe("Only jobs of this type (the start tool without `start_`)"),
});
export type JobFinishedFilter = z.infer<typeof JobFinishedFilterSchema>;

/** The header that names the subscription on every POST to a subscriber, the challenge included. */
export const SUBSCRIPTION_ID_HEADER = "x-mcp-subscription-id";

/** One subscription as the store keeps it; the secret never leaves the server. */
export const EventSubscriptionSchema = z.object({
  /** `sub_…`, deterministic over (owner, url, name, canonical arguments). */
  id: z.string().regex(/^sub_[0-9a-f]{40}$/),
  owner: z.string().min(1),
  name: z.literal(JOB_FINISHED_EVENT),
  filter: JobFinishedFilterSchema,
  url: z.string().min(1),
  /** `whsec_…`: the key every POST to `url` is signed with. */
  secret: z.string().min(1),
  createdAt: z.iso.datetime({ offset: true }),
  refreshedAt: z.iso.datetime({ offset: true }),
  /** Epoch seconds; the subscription stops at this time unless refreshed. */
  expiresAt: z.number().int().positive(),
});
export type EventSubscription = z.infer<typeof EventSubscriptionSchema>;

/** One delivery attempt of one event to one subscription: a message on the notification queue. */
export const EventMessageSchema = z.strictObject({
  jobId: z.uuid(),
  subscriptionId: EventSubscriptionSchema.shape.id,
  attempt: z.number().int().positive(),
  /** Epoch ms before which the attempt must not run: waits longer than SQS's 900 s delay are chained. */
  notBefore: z.number().int().nonnegative().optional(),
});
export type EventMessage = z.infer<typeof EventMessageSchema>;

/** What the notification queue carries: a completion webhook's attempt or an event delivery's. */
export type DeliveryMessage = NotificationMessage | EventMessage;

/** Whether a subscription's filter lets this job's event through. */
export function matchesFilter(
  filter: JobFinishedFilter,
  job: { readonly id: string; readonly type: string },
): boolean {
  return (
    (filter.jobId === undefined || filter.jobId === job.id) &&
    (filter.type === undefined || filter.type === job.type)
  );
}

/**
 * The JSON-RPC error codes of the Events draft (its implementation-defined band; they may move when
 * the draft becomes a SEP). -32602 is the protocol's own invalid-params code.
 */
export const EVENTS_ERROR_CODE = {
  invalidParams: -32602,
  unknownEvent: -32011,
  forbidden: -32012,
  limitReached: -32013,
  unsupportedDelivery: -32014,
  callbackFailed: -32015,
} as const;

/** A refused Events request: the edge answers it as a JSON-RPC error with this code and data. */
export class EventsRequestError extends DomainError {
  constructor(
    readonly code: (typeof EVENTS_ERROR_CODE)[keyof typeof EVENTS_ERROR_CODE],
    message: string,
    readonly data?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

/** Why a verification challenge failed, as `data.reason` names it. */
export type CallbackFailure = "challenge_failed" | "timeout" | "refused" | "unreachable";
