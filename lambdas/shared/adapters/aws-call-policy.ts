import { NodeHttpHandler } from "@smithy/node-http-handler";

/** Who makes the calls: each caller has its own time budget. */
export type AwsCaller = "mcp" | "worker" | "deadLetter" | "webhooks" | "tooling" | "local";

export interface AwsCallPolicy {
  /** Time to open a connection before the attempt fails. */
  readonly connectionTimeoutMs: number;
  /** Time for one attempt's response; past it the attempt fails (not just a warning). */
  readonly requestTimeoutMs: number;
  /** Attempts per call, the first included (the SDK's standard retry mode, with backoff). */
  readonly maxAttempts: number;
}

/**
 * The one place that bounds every AWS call. The SDK's defaults have no request timeout, so a
 * stalled DynamoDB would hold a call for minutes.
 * - mcp: a tool call must answer well inside the function's 29 s (API Gateway stops at 30 s), also
 *   after a `waitSeconds` of 25: one call takes at most about 2 × 2 s + backoff, so a stalled store
 *   answers a retryable tool error within ~5 s.
 * - worker: its deadline margin (WORKER_DEADLINE_MARGIN_MS, default 5 s) must cover the outcome
 *   write that follows the run, so the same ~5 s bound; a write that still fails is handled at
 *   the SQS edge (the message comes back soon, see sqs-handlers.ts).
 * - deadLetter, webhooks: nobody waits, so they are patient.
 * - tooling: local setup, tests and benchmarks creating tables and queues on a busy machine.
 * - local: the functions of the local stack (`npm start`, tests, benchmarks) by default: the
 *   emulators share a small machine with everything else, and DynamoDB Local can take seconds to
 *   answer under load, so the deployed budget would fail calls that are merely slow. Tests that
 *   prove the deployed budget ask for it (startLocalStack's `callPolicy: "deployed"`).
 */
export const AWS_CALL_POLICIES: Readonly<Record<AwsCaller, AwsCallPolicy>> = {
  mcp: { connectionTimeoutMs: 1_000, requestTimeoutMs: 2_000, maxAttempts: 2 },
  worker: { connectionTimeoutMs: 1_000, requestTimeoutMs: 2_000, maxAttempts: 2 },
  deadLetter: { connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxAttempts: 5 },
  webhooks: { connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxAttempts: 5 },
  tooling: { connectionTimeoutMs: 2_000, requestTimeoutMs: 10_000, maxAttempts: 3 },
  local: { connectionTimeoutMs: 5_000, requestTimeoutMs: 10_000, maxAttempts: 3 },
};

/** Client options for `caller`: bounded connection and request times, and its retry budget. */
export function awsClientOptions(caller: AwsCaller): {
  requestHandler: NodeHttpHandler;
  maxAttempts: number;
  retryMode: "standard";
} {
  const policy = AWS_CALL_POLICIES[caller];
  return {
    requestHandler: new NodeHttpHandler({
      connectionTimeout: policy.connectionTimeoutMs,
      requestTimeout: policy.requestTimeoutMs,
      // @smithy/node-http-handler 4.x only logs a warning on a request timeout unless told to throw.
      throwOnRequestTimeout: true,
    }),
    maxAttempts: policy.maxAttempts,
    retryMode: "standard",
  };
}
