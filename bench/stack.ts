import type { Log } from "../lambdas/shared/domain/logger.js";
import type { LocalEndpoints } from "../local/aws-clients.js";
import { type LocalStack, startLocalStack, type WorkerInvocation } from "../local/local-stack.js";

export interface BenchStack extends LocalStack {
  /** Errors the handlers and pollers logged; a clean run has none. */
  readonly errors: () => readonly string[];
}

export interface BenchStackOptions {
  readonly prefix: string;
  readonly workerConcurrency: number;
  readonly workerBatchSize: number;
  /** More settings on top of the deployed defaults. */
  readonly env?: Readonly<Record<string, string>>;
  readonly onWorkerInvocation?: (invocation: WorkerInvocation) => void;
}

const KEPT_ERRORS = 20;

/** The whole local system on shared emulators, with default (deployed) settings and no caller limits. */
export async function startBenchStack(
  endpoints: LocalEndpoints,
  options: BenchStackOptions,
): Promise<BenchStack> {
  const errors: string[] = [];
  const log: Log = {
    info() {},
    warn() {},
    error(message, fields) {
      if (errors.length < KEPT_ERRORS) errors.push(`${message}: ${describe(fields.error)}`);
    },
  };
  const stack = await startLocalStack({
    port: 0,
    endpoints,
    prefix: `${options.prefix}-${Date.now().toString(36)}`,
    workerConcurrency: options.workerConcurrency,
    workerBatchSize: options.workerBatchSize,
    log,
    env: {
      AUTH_MODE: "none",
      CALLER_MAX_ACTIVE_JOBS: "0",
      CALLER_MAX_STARTS_PER_MINUTE: "0",
      ...options.env,
    },
    ...(options.onWorkerInvocation ? { onWorkerInvocation: options.onWorkerInvocation } : {}),
  });
  return { ...stack, errors: () => [...errors] };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
