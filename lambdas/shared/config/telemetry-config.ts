import * as z from "zod";
import { ENV } from "./env-names.js";

/** The CloudWatch namespace of the job metrics unless POWERTOOLS_METRICS_NAMESPACE names another. */
export const DEFAULT_METRICS_NAMESPACE = "McpAsyncJobs";

/** The `service` dimension every job metric carries, whichever function wrote it. */
export const METRICS_SERVICE = "mcp-async-jobs";

/** Every function reads these (and Powertools reads them as well). */
export const TELEMETRY_VARIABLES: readonly string[] = [ENV.metricsNamespace, ENV.tracingEnabled];

const TelemetrySchema = z.object({
  [ENV.metricsNamespace]: z
    .string()
    .regex(/^[A-Za-z0-9_./#:-]{1,255}$/, "a CloudWatch namespace: letters, digits and . - _ / # :")
    .default(DEFAULT_METRICS_NAMESPACE),
  [ENV.tracingEnabled]: z.enum(["true", "false"]).default("true"),
});

export interface TelemetryConfig {
  readonly metricsNamespace: string;
  /** False turns tracing off; true traces only where Lambda runs the code (Powertools checks). */
  readonly tracingEnabled: boolean;
}

export function loadTelemetryConfig(env: Readonly<Record<string, string | undefined>>): TelemetryConfig {
  const parsed = TelemetrySchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`Invalid configuration: ${problems.join("; ")}`);
  }
  return {
    metricsNamespace: parsed.data[ENV.metricsNamespace],
    tracingEnabled: parsed.data[ENV.tracingEnabled] === "true",
  };
}
