import type { Context } from "aws-lambda";
import type { JobMetrics } from "../domain/metrics.js";

/** What the handlers use of a tracer. */
export interface FunctionTracer {
  /** False outside Lambda, with tracing turned off, or under the SAM and Amplify CLIs. */
  isTracingEnabled(): boolean;
  /** Traces the client's calls; answers the same client. */
  captureAWSv3Client<T>(client: T): T;
  /** Runs one invocation inside a `## handler` subsegment with the cold-start and service annotations. */
  traceInvocation<R>(run: () => Promise<R>): Promise<R>;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Where Powertools traces at all: Lambda's execution environment (not the SAM or Amplify CLI) with
 * POWERTOOLS_TRACE_ENABLED not "false" — the same checks the Powertools Tracer makes itself.
 */
export function tracingPossible(env: Env): boolean {
  const executionEnv = env.AWS_EXECUTION_ENV ?? "";
  return (
    executionEnv !== "" &&
    executionEnv !== "AWS_Lambda_amplify-mock" &&
    (env.AWS_SAM_LOCAL ?? "") === "" &&
    env.POWERTOOLS_TRACE_ENABLED?.toLowerCase() !== "false"
  );
}

/**
 * The Powertools Tracer is imported only where it can trace: importing it loads the X-Ray SDK, whose
 * async hook then tracks every promise in the process (a start's MCP and SDK work makes thousands),
 * tracing on or off.
 */
const powertools = tracingPossible(process.env) ? await import("@aws-lambda-powertools/tracer") : undefined;

const NO_TRACING: FunctionTracer = {
  isTracingEnabled: () => false,
  captureAWSv3Client: (client) => client,
  traceInvocation: (run) => run(),
};

/**
 * A Powertools Tracer where tracing is possible and `enabled`; a no-op elsewhere. Global HTTP and
 * fetch are left unpatched: outbound calls to receivers and integrated APIs go through the
 * address-pinning outbound module as they are, without a trace header for third parties.
 */
export function createTracer(serviceName: string, enabled: boolean): FunctionTracer {
  if (powertools === undefined || !enabled) return NO_TRACING;
  const tracer = new powertools.Tracer({ serviceName, enabled, captureHTTPsRequests: false });
  return {
    isTracingEnabled: () => tracer.isTracingEnabled(),
    captureAWSv3Client: (client) => tracer.captureAWSv3Client(client),
    async traceInvocation(run) {
      const segment = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
      const subsegment = segment?.addNewSubsegment("## handler");
      if (subsegment !== undefined) {
        tracer.setSegment(subsegment);
        tracer.annotateColdStart();
        tracer.addServiceNameAnnotation();
      }
      try {
        return await run();
      } catch (error) {
        tracer.addErrorAsMetadata(error as Error);
        throw error;
      } finally {
        if (subsegment !== undefined && segment !== undefined) {
          subsegment.close();
          tracer.setSegment(segment);
        }
      }
    },
  };
}

/** Traces the AWS SDK calls of each client (X-Ray links the queue's messages to the worker's traces). */
export function traceClients<T extends object>(tracer: FunctionTracer, clients: T): T {
  for (const client of Object.values(clients)) tracer.captureAWSv3Client(client);
  return clients;
}

/**
 * Every invocation of a handler: traced (see FunctionTracer.traceInvocation), the error recorded on
 * its subsegment, and the metrics flushed when it ends, whatever happened.
 */
export function instrumented<E, R>(
  handler: (event: E, context: Context) => Promise<R>,
  telemetry: { readonly tracer: FunctionTracer; readonly metrics: JobMetrics },
): (event: E, context: Context) => Promise<R> {
  const { tracer, metrics } = telemetry;
  return async (event, context) => {
    try {
      return await tracer.traceInvocation(() => handler(event, context));
    } finally {
      metrics.flush();
    }
  };
}
