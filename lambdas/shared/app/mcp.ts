import { S3ResultStore } from "../adapters/s3-result-store.js";
import type { Authenticator } from "../auth/authenticator.js";
import type { McpConfig } from "../config/config.js";
import type { CallbackConfig } from "../config/webhook-config.js";
import type { Log } from "../domain/logger.js";
import { type Clock, systemClock } from "../domain/ports.js";
import { createJobTypeRegistry } from "../jobs/registry.js";
import type { LoadEvents } from "../mcp/events-door.js";
import { createFrontDoor } from "../mcp/http-front-door.js";
import type { ResultAccess } from "../mcp/result-tools.js";
import type { ResolveAll } from "../outbound/outbound.js";
import { CallbackTargets } from "../usecases/callback-targets.js";
import type { EventSubscriptions } from "../usecases/event-subscriptions.js";
import { JobService } from "../usecases/job-service.js";
import type { AwsClients } from "./clients.js";
import { type CompositionInput, jobQueue, jobStore, notificationOutbox } from "./ports.js";

export type McpApp = (request: Request, remainingTimeMs: number) => Promise<Response>;

export interface McpInput extends CompositionInput<McpConfig> {
  readonly authenticator: Authenticator;
  /** Name resolution for MCP Events verification challenges (tests map names to private addresses). @default DNS */
  readonly eventsLookup?: ResolveAll;
}

/** The job use cases behind the MCP tools: the function's one store, its queue, limits and callbacks. */
export function composeJobService(input: CompositionInput<McpConfig>): JobService {
  const { config, clients, log, wrap } = input;
  const clock = input.clock ?? systemClock;
  const store = jobStore(config.tableName, clients, clock, wrap);
  const queue = jobQueue(config.queueUrl, clients);
  return new JobService({
    store,
    quotas: store,
    queue: wrap?.queue?.(queue) ?? queue,
    clock,
    log,
    jobTtlSeconds: config.jobTtlSeconds,
    limits: {
      maxActiveJobs: config.callerMaxActiveJobs,
      maxStartsPerMinute: config.callerMaxStartsPerMinute,
    },
    callbacks: callbackTargets(config.callbacks),
    outbox: notificationOutbox(config.callbacks, config.tableName, store, clients, log, clock),
    ...(input.metrics !== undefined ? { metrics: input.metrics } : {}),
  });
}

/** Everything behind the MCP endpoint, built from its config: the Lambda handler and local runs share it. */
export function composeMcp(input: McpInput): McpApp {
  const { config, clients, log } = input;
  const clock = input.clock ?? systemClock;
  const service = composeJobService(input);
  const results: ResultAccess = {
    ...(config.resultBucketName !== undefined
      ? { reader: new S3ResultStore({ client: clients.s3, bucketName: config.resultBucketName }) }
      : {}),
    presignedUrls: config.resultPresignedUrls,
  };
  const events = eventsLoader(config, clients, log, clock, input.eventsLookup);
  return createFrontDoor({
    server: {
      service,
      registry: createJobTypeRegistry(input.jobTypes),
      clock,
      log,
      jobTtlSeconds: config.jobTtlSeconds,
      results,
      ...(events !== undefined ? { events } : {}),
    },
    authenticator: input.authenticator,
    allowedOrigins: config.allowedOrigins,
    maxBodyBytes: config.maxBodyBytes,
    log,
  });
}

/** The callback rules the MCP function applies at start. */
function callbackTargets(config: CallbackConfig): CallbackTargets {
  return new CallbackTargets({
    allowedOrigins: config.allowedOrigins,
    ...(config.defaultCallbackUrl !== undefined ? { defaultCallbackUrl: config.defaultCallbackUrl } : {}),
    outbound: { allowLoopback: config.allowLoopback },
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
    loaded ??= import("./mcp-events.js").then((events) =>
      events.composeEventSubscriptions(config, subscriptionTableName, clients.dynamo, log, clock, lookup),
    );
    return loaded;
  };
}
