import type { Authenticator } from "../auth/authenticator.js";
import type { McpConfig } from "../config/config.js";
import type { Log } from "../domain/logger.js";
import { type AwsClients, createMcpDeps, type WiringOptions } from "../wiring.js";
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
  return createFrontDoor({
    server: { service, registry, clock, log, jobTtlSeconds: config.jobTtlSeconds, results },
    authenticator,
    allowedOrigins: config.allowedOrigins,
    maxBodyBytes: config.maxBodyBytes,
    log,
  });
}
