import type { Tracer } from "@aws-lambda-powertools/tracer";
import type { Context } from "aws-lambda";
import type { JobMetrics } from "../domain/metrics.js";
import { ClientOnFirstUse } from "./client-on-first-use.js";

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

const NO_TRACING: FunctionTracer = {
  isTracingEnabled: () => false,
  captureAWSv3Client: (client) => client,
  traceInvocation: (run) => run(),
};

/**
 * A Powertools Tracer where tracing is possible and `enabled`; a no-op elsewhere, which never imports
 * the Tracer: importing it loads the X-Ray SDK, whose async hook then tracks every promise in the
 * process (a start's MCP and SDK work makes thousands), tracing on or off. Where it traces, the
 * Tracer is imported by the first invocation, which also instruments the clients handed in before.
 * Global HTTP and fetch are left unpatched: outbound calls to receivers and integrated APIs go
 * through the address-pinning outbound module as they are, without a trace header for third parties.
 */
export function createTracer(serviceName: string, enabled: boolean): FunctionTracer {
  if (!enabled || !tracingPossible(process.env)) return NO_TRACING;
  let tracer: Tracer | undefined;
  let loading: Promise<Tracer> | undefined;
  const waiting: unknown[] = [];
  const load = (): Promise<Tracer> => {
    loading ??= import("@aws-lambda-powertools/tracer").then(({ Tracer: PowertoolsTracer }) => {
      const loaded = new PowertoolsTracer({ serviceName, enabled, captureHTTPsRequests: false });
      for (const client of waiting.splice(0)) loaded.captureAWSv3Client(client);
      tracer = loaded;
      return loaded;
    });
    return loading;
  };
  return {
    isTracingEnabled: () => tracer?.isTracingEnabled() ?? true,
    captureAWSv3Client(client) {
      if (tracer === undefined) waiting.push(client);
      else tracer.captureAWSv3Client(client);
      return client;
    },
    async traceInvocation(run) {
      const loaded = await load();
      const segment = loaded.isTracingEnabled() ? loaded.getSegment() : undefined;
      const subsegment = segment?.addNewSubsegment("## handler");
      if (subsegment !== undefined) {
        loaded.setSegment(subsegment);
        loaded.annotateColdStart();
        loaded.addServiceNameAnnotation();
      }
      try {
        return await run();
      } catch (error) {
        loaded.addErrorAsMetadata(error as Error);
        throw error;
      } finally {
        if (subsegment !== undefined && segment !== undefined) {
          subsegment.close();
          loaded.setSegment(segment);
        }
      }
    },
  };
}

/**
 * Traces the AWS SDK calls of each client (X-Ray links the queue's messages to the worker's traces);
 * a client made on first use is traced when it is made.
 */
export function traceClients<T extends object>(tracer: FunctionTracer, clients: T): T {
  for (const client of Object.values(clients)) {
    if (client instanceof ClientOnFirstUse) client.whenMade((made) => tracer.captureAWSv3Client(made));
    else tracer.captureAWSv3Client(client);
  }
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
