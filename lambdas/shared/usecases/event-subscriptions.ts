import * as z from "zod";
import {
  DEFAULT_SUBSCRIPTION_TTL_MS,
  MAX_SUBSCRIPTION_TTL_MS,
  MIN_SUBSCRIPTION_TTL_MS,
} from "../config/subscription-table.js";
import {
  EVENTS_ERROR_CODE,
  type EventSubscription,
  EventsRequestError,
  JOB_FINISHED_EVENT,
  type JobFinishedFilter,
  JobFinishedFilterSchema,
} from "../domain/events.js";
import { epochSeconds, JobViewSchema } from "../domain/job.js";
import type { Log } from "../domain/logger.js";
import type { Clock, EventSubscriptionStore, SubscriptionChallenger } from "../domain/ports.js";
import { SECRET_PREFIX } from "../domain/webhook-secret.js";
import { checkOutboundUrl, OutboundRefusedError } from "../outbound/outbound.js";
import { canonicalJson, sha256 } from "./canonical-json.js";
import { callerHash } from "./job-log.js";

export interface EventSubscriptionSettings {
  /** Subscriptions one caller may hold at once (EVENT_SUBSCRIPTION_LIMIT). */
  readonly maxPerCaller: number;
  /** Origins a subscriber's URL may point at (CALLBACK_ALLOWED_ORIGINS); empty: any public https origin. */
  readonly allowedOrigins: readonly string[];
  /** Local development only: http to loopback names (CALLBACK_ALLOW_LOOPBACK). */
  readonly allowLoopback: boolean;
}

export interface EventSubscriptionDeps {
  readonly store: EventSubscriptionStore;
  readonly challenger: SubscriptionChallenger;
  readonly clock: Clock;
  readonly log: Log;
  readonly settings: EventSubscriptionSettings;
}

/** What `events/list` offers: one event, by webhook only. */
export interface EventDescription {
  readonly name: string;
  readonly description: string;
  readonly delivery: readonly ["webhook"];
  readonly inputSchema: Record<string, unknown>;
  readonly payloadSchema: Record<string, unknown>;
}

export interface SubscribeResult {
  readonly id: string;
  readonly refreshBefore: string;
  readonly cursor: null;
  readonly truncated: false;
}

/** The secret's key: 24 to 64 bytes, as the Events draft asks. */
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

const SECRET_RULE = `must be "${SECRET_PREFIX}" followed by the base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} random bytes`;

/** A subscriber's signing secret; a refusal never quotes the value. */
const SubscriberSecretSchema = z.string().refine((value) => {
  if (!value.startsWith(SECRET_PREFIX)) return false;
  const encoded = value.slice(SECRET_PREFIX.length);
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) return false;
  const bytes = Buffer.from(encoded, "base64").length;
  return bytes >= MIN_SECRET_BYTES && bytes <= MAX_SECRET_BYTES;
}, SECRET_RULE);

const nameAndArguments = {
  name: z.string().min(1),
  arguments: z.record(z.string(), z.unknown()).nullish(),
};

export const SubscribeParamsSchema = z.looseObject({
  ...nameAndArguments,
  delivery: z.looseObject({ mode: z.string(), url: z.string().min(1).max(2_048), secret: z.unknown() }),
  cursor: z.string().nullish(),
  ttlMs: z.number().int().positive().nullish(),
});

export const UnsubscribeParamsSchema = z.looseObject({
  ...nameAndArguments,
  delivery: z.looseObject({ url: z.string().min(1).max(2_048) }),
});

/**
 * MCP Events for one deployment: lists `job.finished`, and subscribes and unsubscribes a verified
 * caller's webhook. A subscribe is checked whole (event, mode, filter, URL, secret, the caller's
 * limit), then the URL must answer a signed challenge, and only then is anything stored. Both MCP
 * doors call this and only translate its `EventsRequestError`s.
 */
export class EventSubscriptions {
  constructor(private readonly deps: EventSubscriptionDeps) {}

  list(): { events: EventDescription[] } {
    return { events: [JOB_FINISHED_DESCRIPTION] };
  }

  async subscribe(owner: string, params: unknown): Promise<SubscribeResult> {
    const request = parseParams(SubscribeParamsSchema, params);
    checkEventName(request.name);
    if (request.delivery.mode !== "webhook") {
      throw new EventsRequestError(
        EVENTS_ERROR_CODE.unsupportedDelivery,
        `Delivery mode "${request.delivery.mode}" is not supported for ${JOB_FINISHED_EVENT}; use "webhook".`,
        { supported: ["webhook"] },
      );
    }
    const filter = parseFilter(request.arguments);
    const url = this.checkUrl(request.delivery.url);
    const checkedSecret = SubscriberSecretSchema.safeParse(request.delivery.secret);
    if (!checkedSecret.success) {
      throw new EventsRequestError(EVENTS_ERROR_CODE.invalidParams, `delivery.secret ${SECRET_RULE}.`);
    }
    const id = subscriptionId(owner, url, request.name, filter);
    const existing = await this.deps.store.listActive(owner);
    const previous = existing.find((subscription) => subscription.id === id);
    if (previous === undefined && existing.length >= this.deps.settings.maxPerCaller) {
      throw new EventsRequestError(
        EVENTS_ERROR_CODE.limitReached,
        `Subscription limit reached: a caller may hold ${this.deps.settings.maxPerCaller} subscriptions; unsubscribe one or let one expire.`,
        { limit: this.deps.settings.maxPerCaller },
      );
    }

    const outcome = await this.deps.challenger.challenge({
      url,
      subscriptionId: id,
      secret: checkedSecret.data,
    });
    const fields = { subscriptionId: id, caller: callerHash(owner) };
    if (!outcome.ok) {
      this.deps.log.info("Event subscription refused: the callback failed its challenge", {
        ...fields,
        reason: outcome.reason,
        detail: outcome.detail,
      });
      throw new EventsRequestError(
        EVENTS_ERROR_CODE.callbackFailed,
        `The callback URL failed verification (${outcome.reason}): ${outcome.detail}`,
        { reason: outcome.reason },
      );
    }

    const now = this.deps.clock.now();
    const expiresAt = epochSeconds(now + grantedTtlMs(request.ttlMs));
    const subscription: EventSubscription = {
      id,
      owner,
      name: JOB_FINISHED_EVENT,
      filter,
      url,
      secret: checkedSecret.data,
      createdAt: previous?.createdAt ?? new Date(now).toISOString(),
      refreshedAt: new Date(now).toISOString(),
      expiresAt,
    };
    await this.deps.store.put(subscription);
    this.deps.log.info(previous ? "Event subscription refreshed" : "Event subscription stored", {
      ...fields,
      expiresAt,
    });
    return { id, refreshBefore: new Date(expiresAt * 1000).toISOString(), cursor: null, truncated: false };
  }

  async unsubscribe(owner: string, params: unknown): Promise<Record<string, never>> {
    const request = parseParams(UnsubscribeParamsSchema, params);
    checkEventName(request.name);
    const filter = parseFilter(request.arguments);
    const id = subscriptionId(owner, request.delivery.url, request.name, filter);
    const removed = await this.deps.store.remove(owner, id);
    if (removed)
      this.deps.log.info("Event subscription removed", { subscriptionId: id, caller: callerHash(owner) });
    return {};
  }

  /** The `callbackUrl` rules, judged without a connection; addresses are judged when the challenge connects. */
  private checkUrl(raw: string): string {
    let url: URL;
    try {
      url = checkOutboundUrl(raw, {
        allowLoopback: this.deps.settings.allowLoopback,
        maxResponseBytes: 0,
        timeoutMs: 0,
      });
    } catch (error) {
      if (error instanceof OutboundRefusedError) {
        throw new EventsRequestError(
          EVENTS_ERROR_CODE.invalidParams,
          `delivery.url was refused: ${error.message}`,
        );
      }
      throw error;
    }
    if (url.hash !== "") {
      throw new EventsRequestError(EVENTS_ERROR_CODE.invalidParams, "delivery.url may not carry a fragment.");
    }
    const allowed = this.deps.settings.allowedOrigins;
    if (allowed.length > 0 && !allowed.includes(url.origin)) {
      throw new EventsRequestError(
        EVENTS_ERROR_CODE.invalidParams,
        `delivery.url was refused: its origin ${url.origin} is not one the operator allows (CALLBACK_ALLOWED_ORIGINS).`,
      );
    }
    // Kept byte-exact (query string included): receivers route on it.
    return raw;
  }
}

/** Deterministic over (caller, url, event, canonical arguments): the same subscribe is the same subscription. */
export function subscriptionId(owner: string, url: string, name: string, filter: JobFinishedFilter): string {
  return `sub_${sha256(canonicalJson({ owner, url, name, arguments: filter })).slice(0, 40)}`;
}

function grantedTtlMs(asked: number | null | undefined): number {
  if (asked === undefined) return DEFAULT_SUBSCRIPTION_TTL_MS;
  if (asked === null) return MAX_SUBSCRIPTION_TTL_MS;
  return Math.min(MAX_SUBSCRIPTION_TTL_MS, Math.max(MIN_SUBSCRIPTION_TTL_MS, asked));
}

function parseParams<S extends z.ZodType>(schema: S, params: unknown): z.output<S> {
  const parsed = schema.safeParse(params ?? {});
  if (parsed.success) return parsed.data;
  const where = parsed.error.issues
    .map((issue) => `${issue.path.join(".") || "params"}: ${issue.message}`)
    .join("; ");
  throw new EventsRequestError(EVENTS_ERROR_CODE.invalidParams, `Invalid params: ${where}`);
}

function checkEventName(name: string): void {
  if (name !== JOB_FINISHED_EVENT) {
    throw new EventsRequestError(
      EVENTS_ERROR_CODE.unknownEvent,
      `Unknown event "${name.slice(0, 100)}": this server offers "${JOB_FINISHED_EVENT}".`,
    );
  }
}

function parseFilter(args: Record<string, unknown> | null | undefined): JobFinishedFilter {
  const parsed = JobFinishedFilterSchema.safeParse(args ?? {});
  if (parsed.success) return parsed.data;
  const where = parsed.error.issues
    .map((issue) => `${["arguments", ...issue.path].join(".")}: ${issue.message}`)
    .join("; ");
  throw new EventsRequestError(EVENTS_ERROR_CODE.invalidParams, `Invalid params: ${where}`);
}

const JOB_FINISHED_DESCRIPTION: EventDescription = {
  name: JOB_FINISHED_EVENT,
  description:
    "A job you started reached a final status (completed, failed or cancelled). The payload is the job as get_job shows it.",
  delivery: ["webhook"],
  inputSchema: z.toJSONSchema(JobFinishedFilterSchema, { target: "draft-7", io: "input" }) as Record<
    string,
    unknown
  >,
  payloadSchema: z.toJSONSchema(JobViewSchema.omit({ notification: true }), {
    target: "draft-7",
    io: "output",
  }) as Record<string, unknown>,
};
