import { Logger } from "@aws-lambda-powertools/logger";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { awsClientOptions } from "../adapters/aws-call-policy.js";
import { instrumented, traceClients } from "../adapters/powertools-tracing.js";
import { secretsManagerReader } from "../adapters/secrets-manager.js";
import { createAwsClients } from "../app/clients.js";
import { composeWorker } from "../app/worker.js";
import { loadWorkerConfig } from "../config/config.js";
import { loadOutboxConfig } from "../config/webhook-config.js";
import { integrationJobTypesFromEnv } from "../integrations/job-types.js";
import type { SqsBatchHandler } from "../worker/sqs-handlers.js";
import { type JobHandlerOptions, telemetryFor } from "./options.js";

/** The worker's Lambda handler (SQS batches, partial batch responses); config and clients built once. */
export function createWorkerHandler(options: JobHandlerOptions): SqsBatchHandler {
  const env = options.env ?? process.env;
  const log = options.log ?? new Logger({ serviceName: "mcp-async-jobs-worker" });
  const telemetry = telemetryFor("mcp-async-jobs-worker", options, env);
  const clients = traceClients(telemetry.tracer, options.clients ?? createAwsClients("worker", env));
  // The integrations' secret is read on first use, once per container.
  const readSecret = secretsManagerReader(
    telemetry.tracer.captureAWSv3Client(new SecretsManagerClient(awsClientOptions("worker"))),
  );
  const worker = composeWorker({
    config: loadWorkerConfig(env),
    outbox: loadOutboxConfig(env),
    clients,
    log,
    jobTypes: [...options.jobTypes, ...integrationJobTypesFromEnv(env, options.jobTypes, readSecret)],
    metrics: telemetry.metrics,
    ...(options.wrap !== undefined ? { wrap: options.wrap } : {}),
  });
  return instrumented(worker.handler, telemetry);
}
