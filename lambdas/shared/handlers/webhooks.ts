import { Logger } from "@aws-lambda-powertools/logger";
import { instrumented, traceClients } from "../adapters/powertools-tracing.js";
import { createAwsClients } from "../app/clients.js";
import { composeNotifications, loadWebhookSecret } from "../app/notifications.js";
import { loadDeliveryConfig } from "../config/webhook-config.js";
import type { ResolveAll } from "../outbound/outbound.js";
import type { SqsBatchHandler } from "../worker/sqs-handlers.js";
import { type HandlerOptions, telemetryFor } from "./options.js";

export interface WebhookHandlerOptions extends HandlerOptions {
  /** Name resolution for deliveries (tests map names to private addresses). @default DNS */
  readonly lookup?: ResolveAll;
}

/**
 * The completion-webhook delivery function's handler (the notification queue). The secret is read
 * here, once (WEBHOOK_SECRET, or the stack's secret): await it at module scope.
 */
export async function createWebhookHandler(options: WebhookHandlerOptions = {}): Promise<SqsBatchHandler> {
  const env = options.env ?? process.env;
  const log = options.log ?? new Logger({ serviceName: "mcp-async-jobs-webhooks" });
  const config = loadDeliveryConfig(env);
  const telemetry = telemetryFor("mcp-async-jobs-webhooks", options, env);
  const secret = await loadWebhookSecret(config);
  const clients = traceClients(telemetry.tracer, options.clients ?? createAwsClients("webhooks", env));
  const handler = composeNotifications({
    config,
    secret,
    clients,
    log,
    metrics: telemetry.metrics,
    ...(options.lookup !== undefined ? { lookup: options.lookup } : {}),
    ...(options.wrap !== undefined ? { wrap: options.wrap } : {}),
  });
  return instrumented(handler, telemetry);
}
