import { DynamoJobStore } from "../adapters/dynamo-job-store.js";
import { SqsJobQueue } from "../adapters/sqs-job-queue.js";
import type { Authenticator } from "../auth/authenticator.js";
import type { McpConfig } from "../config/config.js";
import type { Log } from "../domain/logger.js";
import { type Clock, type JobQueue, type JobStore, systemClock } from "../domain/ports.js";
import { createJobTypeRegistry, type JobTypeRegistry } from "../jobs/registry.js";
import { JobService } from "../usecases/job-service.js";
import type { AwsClients } from "../wiring.js";
import { createFrontDoor } from "./http-front-door.js";

export interface McpAppOverrides {
  readonly clock?: Clock;
  readonly registry?: JobTypeRegistry;
  /** Wraps the real store or queue, e.g. to inject a fault. */
  readonly wrapStore?: (store: JobStore) => JobStore;
  readonly wrapQueue?: (queue: JobQueue) => JobQueue;
}

export type McpApp = (request: Request, remainingTimeMs: number) => Promise<Response>;

/** Everything behind the MCP endpoint, wired from config: the Lambda handler and local runs share it. */
export function createMcpApp(
  config: McpConfig,
  clients: AwsClients,
  authenticator: Authenticator,
  log: Log,
  overrides: McpAppOverrides = {},
): McpApp {
  const clock = overrides.clock ?? systemClock;
  const registry = overrides.registry ?? createJobTypeRegistry();
  const store = new DynamoJobStore({ client: clients.dynamo, tableName: config.tableName, clock });
  const queue = new SqsJobQueue({ client: clients.sqs, queueUrl: config.queueUrl });
  const service = new JobService({
    store: overrides.wrapStore?.(store) ?? store,
    queue: overrides.wrapQueue?.(queue) ?? queue,
    clock,
    log,
    jobTtlSeconds: config.jobTtlSeconds,
    limits: {
      maxActiveJobs: config.callerMaxActiveJobs,
      maxStartsPerMinute: config.callerMaxStartsPerMinute,
    },
  });
  return createFrontDoor({
    server: { service, registry, clock, log, jobTtlSeconds: config.jobTtlSeconds },
    authenticator,
    allowedOrigins: config.allowedOrigins,
    maxBodyBytes: config.maxBodyBytes,
    log,
  });
}
