import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoSubscriptionStore } from "../adapters/dynamo-subscription-store.js";
import { OutboundChallenger } from "../adapters/subscription-challenger.js";
import type { McpConfig } from "../config/config.js";
import { DEFAULT_WEBHOOK_TIMEOUT_MS } from "../config/webhook-config.js";
import type { Log } from "../domain/logger.js";
import type { Clock } from "../domain/ports.js";
import type { ResolveAll } from "../outbound/outbound.js";
import { EventSubscriptions } from "../usecases/event-subscriptions.js";

/** A verification challenge's answer may be this large; only the echoed nonce is read. */
const MAX_CHALLENGE_RESPONSE_BYTES = 16 * 1024;

/** MCP Events for the MCP function: the subscription table, the challenge, and the callback URL rules. */
export function composeEventSubscriptions(
  config: McpConfig,
  subscriptionTableName: string,
  dynamo: DynamoDBClient,
  log: Log,
  clock: Clock,
  lookup?: ResolveAll,
): EventSubscriptions {
  const { allowLoopback, allowedOrigins } = config.callbacks;
  return new EventSubscriptions({
    store: new DynamoSubscriptionStore({ client: dynamo, tableName: subscriptionTableName, clock }),
    challenger: new OutboundChallenger({
      clock,
      policy: {
        allowLoopback,
        maxResponseBytes: MAX_CHALLENGE_RESPONSE_BYTES,
        timeoutMs: DEFAULT_WEBHOOK_TIMEOUT_MS,
        ...(lookup !== undefined ? { lookup } : {}),
      },
    }),
    clock,
    log,
    settings: { maxPerCaller: config.events.subscriptionLimit, allowedOrigins, allowLoopback },
  });
}
