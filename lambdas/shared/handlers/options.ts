import { PowertoolsJobMetrics } from "../adapters/powertools-metrics.js";
import { createTracer } from "../adapters/powertools-tracing.js";
import type { AwsClients } from "../app/clients.js";
import type { PortWrappers } from "../app/ports.js";
import { loadTelemetryConfig } from "../config/telemetry-config.js";
import type { Log } from "../domain/logger.js";
import type { JobMetrics } from "../domain/metrics.js";
import type { JobType } from "../jobs/job-type.js";

export type Env = Readonly<Record<string, string | undefined>>;

/** What every handler factory takes; all but the job types default to what a deployed function uses. */
export interface HandlerOptions {
  /** The function's settings. @default process.env */
  readonly env?: Env;
  /** @default clients for the AWS endpoints the environment names (createAwsClients) */
  readonly clients?: AwsClients;
  /** @default a Powertools Logger named after the function */
  readonly log?: Log;
  /** Fault injection (tests, the soak): wraps the function's ports as it builds them. */
  readonly wrap?: PortWrappers;
  /**
   * Where the job metrics go; flushed at the end of every invocation.
   * @default CloudWatch embedded metrics on stdout (Powertools Metrics, POWERTOOLS_METRICS_NAMESPACE)
   */
  readonly metrics?: JobMetrics;
}

/**
 * A function's metrics and tracer, and its AWS clients traced. Tracing runs only inside Lambda with
 * POWERTOOLS_TRACE_ENABLED not "false"; elsewhere the tracer does nothing.
 */
export function telemetryFor(
  serviceName: string,
  options: HandlerOptions,
  env: Env,
): { metrics: JobMetrics; tracer: ReturnType<typeof createTracer> } {
  const config = loadTelemetryConfig(env);
  return {
    metrics: options.metrics ?? PowertoolsJobMetrics.forNamespace(config.metricsNamespace),
    tracer: createTracer(serviceName, config.tracingEnabled),
  };
}

export interface JobHandlerOptions extends HandlerOptions {
  /** The job types served: each gets a `start_<name>` tool and is run by the worker. */
  readonly jobTypes: readonly JobType[];
}
