import { Logger } from "@aws-lambda-powertools/logger";
import { instrumented, traceClients } from "../adapters/powertools-tracing.js";
import { createAwsClients } from "../app/clients.js";
import { composeMcp } from "../app/mcp.js";
import { type AuthenticatorDeps, createAuthenticator } from "../auth/create-authenticator.js";
import { loadMcpConfig } from "../config/config.js";
import type { Clock } from "../domain/ports.js";
import { integrationJobTypesFromEnv } from "../integrations/job-types.js";
import { createHttpLambdaHandler, type HttpLambdaHandler } from "../mcp/lambda-http.js";
import type { ResolveAll } from "../outbound/outbound.js";
import { type JobHandlerOptions, telemetryFor } from "./options.js";

export interface McpHandlerOptions extends JobHandlerOptions {
  /** How the authenticator reads the API key secret or discovers JWT keys. @default the AWS and global fetch ones */
  readonly authenticator?: Omit<AuthenticatorDeps, "log">;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Name resolution for MCP Events verification challenges (tests map names to private addresses). @default DNS */
  readonly eventsLookup?: ResolveAll;
}

/**
 * The MCP endpoint's Lambda handler (Function URL / HTTP API events). Config, clients and the
 * authenticator are built here, once: await it at module scope so that happens at cold start and a
 * bad setting fails the init, not a request.
 */
export async function createMcpHandler(options: McpHandlerOptions): Promise<HttpLambdaHandler> {
  const env = options.env ?? process.env;
  const log = options.log ?? new Logger({ serviceName: "mcp-async-jobs-mcp" });
  const config = loadMcpConfig(env);
  const telemetry = telemetryFor("mcp-async-jobs-mcp", options, env);
  const authenticator = await createAuthenticator(config, { ...options.authenticator, log });
  const clients = traceClients(telemetry.tracer, options.clients ?? createAwsClients("mcp", env));
  const app = composeMcp({
    config,
    clients,
    log,
    authenticator,
    metrics: telemetry.metrics,
    // INTEGRATIONS_FILE adds a tool per declared API; listing and input checks need no secret.
    jobTypes: [...options.jobTypes, ...integrationJobTypesFromEnv(env, options.jobTypes)],
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.eventsLookup !== undefined ? { eventsLookup: options.eventsLookup } : {}),
    ...(options.wrap !== undefined ? { wrap: options.wrap } : {}),
  });
  return instrumented(createHttpLambdaHandler(app), telemetry);
}
