import type { Authenticator } from "../auth/authenticator.js";
import type { McpConfig } from "../config/config.js";
import type { Log } from "../domain/logger.js";
import type { Clock } from "../domain/ports.js";
import type { ResolveAll } from "../outbound/outbound.js";
import type { EventSubscriptions } from "../usecases/event-subscriptions.js";
import { type AwsClients, createMcpDeps, type WiringOptions } from "../wiring.js";
import type { LoadEvents } from "./events-door.js";
import { createFrontDoor } from "./http-front-door.js";

/** Fault injection and time for tests: everything of the wiring options but the job types. */
export type McpAppOverrides = Omit<WiringOptions, "jobTypes">;

export type McpApp = (request: Request, remainingTimeMs: number) => Promise<Response>;

/** Everything behind the MCP endpoint, wired from config: the Lambda handler and local runs share it. */
export function createMcpApp(
  config: McpConfig,
  clients: AwsClients,
  authenticator: Authenticator,
  log: Log,
  options: WiringOptions,
): McpApp {
  const { service, registry, clock, results } = createMcpDeps(config, clients, log, options);
  const events = eventsLoader(config, clients, log, clock, options.eventsLookup);
  return createFrontDoor({
    server: {
      service,
      registry,
      clock,
      log,
      jobTtlSeconds: config.jobTtlSeconds,
      results,
      ...(events !== undefined ? { events } : {}),
    },
    authenticator,
    allowedOrigins: config.allowedOrigins,
    maxBodyBytes: config.maxBodyBytes,
    log,
  });
}

/**
 * MCP Events, offered when a subscription table and a notification queue are configured; loaded
 * on the first events/* request, off the cold start.
 */
function eventsLoader(
  config: McpConfig,
  clients: AwsClients,
  log: Log,
  clock: Clock,
  lookup: ResolveAll | undefined,
): LoadEvents | undefined {
  const { subscriptionTableName, notificationQueueUrl } = config.callbacks;
  if (subscriptionTableName === undefined || notificationQueueUrl === undefined) return undefined;
  let loaded: Promise<EventSubscriptions> | undefined;
  return () => {
    loaded ??= import("../events-wiring.js").then((wiring) =>
      wiring.createEventSubscriptions(config, subscriptionTableName, clients.dynamo, log, clock, lookup),
    );
    return loaded;
  };
}
