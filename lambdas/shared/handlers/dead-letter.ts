import { Logger } from "@aws-lambda-powertools/logger";
import { instrumented, traceClients } from "../adapters/powertools-tracing.js";
import { createAwsClients } from "../app/clients.js";
import { composeDeadLetter } from "../app/dead-letter.js";
import { loadDeadLetterConfig } from "../config/config.js";
import { loadOutboxConfig } from "../config/webhook-config.js";
import type { JobType } from "../jobs/job-type.js";
import type { SqsBatchHandler } from "../worker/sqs-handlers.js";
import { type HandlerOptions, telemetryFor } from "./options.js";

export interface DeadLetterHandlerOptions extends HandlerOptions {
  /**
   * The job types served: a submit/check job whose message SQS gave up on gets its type's
   * `cancel(state)` called. @default none: such jobs are failed without a cancel
   */
  readonly jobTypes?: readonly JobType[];
}

/**
 * The dead-letter queues' Lambda handler: marks the jobs of messages SQS gave up on as failed (and
 * cancels their external work), and ends the deliveries of notification messages SQS gave up on.
 */
export function createDeadLetterHandler(options: DeadLetterHandlerOptions = {}): SqsBatchHandler {
  const env = options.env ?? process.env;
  const log = options.log ?? new Logger({ serviceName: "mcp-async-jobs-dead-letter" });
  const telemetry = telemetryFor("mcp-async-jobs-dead-letter", options, env);
  const clients = traceClients(telemetry.tracer, options.clients ?? createAwsClients("deadLetter", env));
  const handler = composeDeadLetter({
    config: loadDeadLetterConfig(env),
    outbox: loadOutboxConfig(env),
    clients,
    log,
    jobTypes: options.jobTypes ?? [],
    metrics: telemetry.metrics,
    ...(options.wrap !== undefined ? { wrap: options.wrap } : {}),
  });
  return instrumented(handler, telemetry);
}
