import { Tracer } from "@aws-lambda-powertools/tracer";
import type { Context } from "aws-lambda";
import type { JobMetrics } from "../domain/metrics.js";

/**
 * A Powertools Tracer; it traces only inside Lambda with tracing enabled, and is a no-op elsewhere.
 * Global HTTP and fetch are left unpatched: outbound calls to receivers and integrated APIs go through
 * the address-pinning outbound module as they are, without a trace header for third parties.
 */
export function createTracer(serviceName: string, enabled: boolean): Tracer {
  return new Tracer({ serviceName, enabled, captureHTTPsRequests: false });
}

/** Traces the AWS SDK calls of each client (X-Ray links the queue's messages to the worker's traces). */
export function traceClients<T extends object>(tracer: Tracer, clients: T): T {
  for (const client of Object.values(clients)) tracer.captureAWSv3Client(client);
  return clients;
}

/**
 * Every invocation of a handler: a `## handler` subsegment with the cold start and service
 * annotations, the error recorded on it, and the metrics flushed when it ends, whatever happened.
 */
export function instrumented<E, R>(
  handler: (event: E, context: Context) => Promise<R>,
  telemetry: { readonly tracer: Tracer; readonly metrics: JobMetrics },
): (event: E, context: Context) => Promise<R> {
  const { tracer, metrics } = telemetry;
  return async (event, context) => {
    const segment = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
    const subsegment = segment?.addNewSubsegment("## handler");
    if (subsegment !== undefined) {
      tracer.setSegment(subsegment);
      tracer.annotateColdStart();
      tracer.addServiceNameAnnotation();
    }
    try {
      return await handler(event, context);
    } catch (error) {
      tracer.addErrorAsMetadata(error as Error);
      throw error;
    } finally {
      metrics.flush();
      if (subsegment !== undefined && segment !== undefined) {
        subsegment.close();
        tracer.setSegment(segment);
      }
    }
  };
}
