import { type LocalCallPolicy, loadLocalConfig } from "../lambdas/shared/config/config.js";
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
  /** Default: AWS_CALL_POLICY of this process (benchCallPolicy). */
  readonly callPolicy?: LocalCallPolicy;
}

/** The AWS call policy a benchmark runs under: AWS_CALL_POLICY, "local" when unset; a bad value throws. */
export function benchCallPolicy(
  env: Readonly<Record<string, string | undefined>> = process.env,
): LocalCallPolicy {
  return loadLocalConfig({ AWS_CALL_POLICY: env.AWS_CALL_POLICY }).callPolicy;
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
    callPolicy: options.callPolicy ?? benchCallPolicy(),
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
