import * as z from "zod";
import { webhookKeyError } from "../domain/webhook-secret.js";
import { ENV } from "./env-names.js";
import { ConfigError, type Env, type EnvConfig, flag, integer, readEnv } from "./env-reader.js";
import { DEFAULT_SUBSCRIPTIONS_PER_CALLER } from "./subscription-table.js";

/** Standard Webhooks' retry schedule, close to Svix's: 5 s, 1 min, 5 min, 30 min, 2 h, then every 6 h. */
export const DEFAULT_WEBHOOK_RETRY_DELAYS_SECONDS = [5, 60, 300, 1_800, 7_200, 21_600] as const;
/** How long one delivery attempt may take. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

const url = z.url({ protocol: /^https?$/, message: "must be an http(s) URL" });

const origins = z
  .string()
  .default("")
  .transform((value, ctx) => {
    const result: string[] = [];
    for (const item of value.split(",").map((entry) => entry.trim())) {
      if (item === "") continue;
      try {
        const parsed = new URL(item);
        if (parsed.origin === "null" || `${parsed.origin}/` !== parsed.href.replace(/\/?$/, "/"))
          throw new Error();
        result.push(parsed.origin);
      } catch {
        ctx.addIssue({ code: "custom", message: `"${item}" is not an origin (scheme://host[:port])` });
      }
    }
    return result;
  });

const delays = z
  .string()
  .default(DEFAULT_WEBHOOK_RETRY_DELAYS_SECONDS.join(","))
  .transform((value) => value.split(",").map((item) => Number(item.trim())))
  .pipe(z.array(z.number().int().min(0).max(86_400)).min(1));

const callbackSpec = {
  allowedOrigins: [ENV.callbackAllowedOrigins, origins],
  defaultCallbackUrl: [ENV.defaultCallbackUrl, url.optional()],
  allowLoopback: [ENV.callbackAllowLoopback, flag],
} as const;

/** What the MCP function needs to accept a callbackUrl at start. */
export type CallbackConfig = EnvConfig<typeof callbackSpec>;

export function loadCallbackConfig(env: Env = process.env): CallbackConfig {
  return readEnv(callbackSpec, env);
}

const subscriptionTableName = [ENV.eventSubscriptionTableName, z.string().min(1).optional()] as const;

const outboxSpec = {
  notificationQueueUrl: [ENV.notificationQueueUrl, url.optional()],
  /** MCP Events: an ended job's event goes to the subscriptions kept here. */
  subscriptionTableName,
} as const;

/**
 * Where the functions that end jobs put the notifications due (unset: no notifications are sent),
 * and where they find the event subscriptions an ended job notifies (unset: none).
 */
export type OutboxConfig = EnvConfig<typeof outboxSpec>;

/** The variables the MCP function's callback settings read, and those of the functions that end jobs. */
export const CALLBACK_VARIABLES: readonly string[] = Object.values(callbackSpec).map(([name]) => name);
export const OUTBOX_VARIABLES: readonly string[] = Object.values(outboxSpec).map(([name]) => name);

export function loadOutboxConfig(env: Env = process.env): OutboxConfig {
  return readEnv(outboxSpec, env);
}

const eventsSpec = {
  subscriptionLimit: [ENV.eventSubscriptionLimit, integer(1, 10_000, DEFAULT_SUBSCRIPTIONS_PER_CALLER)],
} as const;

/** MCP Events settings of the MCP function (the table is the outbox's `subscriptionTableName`). */
export type EventsConfig = EnvConfig<typeof eventsSpec>;
export const EVENTS_VARIABLES: readonly string[] = Object.values(eventsSpec).map(([name]) => name);

export function loadEventsConfig(env: Env = process.env): EventsConfig {
  return readEnv(eventsSpec, env);
}

const deliverySpec = {
  tableName: [ENV.tableName, z.string().min(1)],
  subscriptionTableName,
  notificationQueueUrl: [ENV.notificationQueueUrl, url],
  webhookSecret: [ENV.webhookSecret, z.string().optional()],
  webhookSecretArn: [ENV.webhookSecretArn, z.string().min(1).optional()],
  allowLoopback: [ENV.callbackAllowLoopback, flag],
  timeoutMs: [
    ENV.webhookTimeoutMs,
    z.coerce.number().int().min(100).max(60_000).default(DEFAULT_WEBHOOK_TIMEOUT_MS),
  ],
  retryDelaysSeconds: [ENV.webhookRetryDelaysSeconds, delays],
  maxAttempts: [ENV.webhookMaxAttempts, z.coerce.number().int().min(0).max(10_000).default(0)],
} as const;

/** The delivery function's settings; the secret comes from WEBHOOK_SECRET or the stack's secret. */
export type DeliveryConfig = EnvConfig<typeof deliverySpec>;

export function loadDeliveryConfig(env: Env = process.env): DeliveryConfig {
  const config = readEnv(deliverySpec, env);
  if ((config.webhookSecret === undefined) === (config.webhookSecretArn === undefined)) {
    throw new ConfigError(`Set ${ENV.webhookSecret} or ${ENV.webhookSecretArn} (exactly one).`);
  }
  if (config.webhookSecret !== undefined) {
    const problem = webhookKeyError(config.webhookSecret);
    if (problem !== undefined) throw new ConfigError(`${ENV.webhookSecret} ${problem}`);
  }
  return config;
}
