import { existsSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { AssetHashType, DockerImage, Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Code, Function as LambdaFunction, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { ENV } from "../lambdas/shared/config/env-names.js";
import { DEFAULT_METRICS_NAMESPACE } from "../lambdas/shared/config/telemetry-config.js";
import { LocalFunctionBundling, lambdaSource } from "./function-bundle.js";

export { BUNDLE_ALIASES, lambdaSource } from "./function-bundle.js";

/**
 * This package's root (the nearest directory above this module with a package.json): the repository
 * when run from its TypeScript sources, the installed package when run from its build (`dist/lib/`).
 * It ends with a separator, as it always has.
 */
export const REPO_ROOT = `${packageRootOf(fileURLToPath(new URL(".", import.meta.url)))}${sep}`;

/**
 * The project that bundles the functions: this repository, or, when this package is installed, the
 * project whose `node_modules` holds it. esbuild runs there (the project's own `esbuild`), and the
 * entries AsyncMcpJobs generates are written under it.
 */
export const PROJECT_ROOT = projectRootOf(REPO_ROOT);

const LOCK_FILES = ["package-lock.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock", "bun.lockb"];

function packageRootOf(dir: string): string {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, "package.json"))) return current;
    if (dirname(current) === current) return dir;
  }
}

/** The project a package at `packageRoot` is installed in (itself when not in a node_modules). */
export function projectRootOf(packageRoot: string): string {
  // The outermost node_modules: pnpm nests packages in node_modules/.pnpm/<name>/node_modules/.
  const at = packageRoot.indexOf(`${sep}node_modules${sep}`);
  return at === -1 ? packageRoot : packageRoot.slice(0, at);
}

/** The project's lock file, under the project root: a project whose dependencies are installed has one. */
export function lockFileOf(projectRoot: string): string {
  const found = LOCK_FILES.map((name) => join(projectRoot, name)).find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(
      `AsyncMcpJobs: no lock file (${LOCK_FILES.join(", ")}) in ${projectRoot}, the project that bundles the functions. Install its dependencies first (npm install).`,
    );
  }
  return found;
}

/** How a function is observed: its traces and where its job metrics go. */
export interface FunctionTelemetry {
  /**
   * Active X-Ray tracing, with the function's AWS SDK calls traced (Powertools Tracer).
   * @default true
   */
  readonly tracing?: boolean;
  /**
   * The CloudWatch namespace of the job metrics (embedded metric format, no API calls).
   * @default "McpAsyncJobs"
   */
  readonly metricsNamespace?: string;
}

export interface ServiceFunctionProps {
  /** The directory under `lambdas/` whose `handler` module exports `handler`, e.g. `"worker"`. */
  readonly source: string;
  /**
   * A file exporting `handler` to bundle instead of `lambdas/<source>/handler.ts` (an entry
   * `AsyncMcpJobs` generates for the user's job types).
   * @default `lambdas/<source>/handler`
   */
  readonly entry?: string;
  /** Shown in the Lambda console. */
  readonly description: string;
  /**
   * How long one invocation may run.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Memory in MB; CPU is allotted in proportion.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * How long the function's log events are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Extra environment variables. The constructs that grant access to a resource add the variable
   * naming it themselves (`JobTable.bindUpdater`, `JobQueue.bindProducer`, ...).
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Concurrency reserved for (and capping) this function.
   * @default - none: reserving concurrency fails in new accounts whose quota is 10
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Files copied into the bundle beside the handler: name in the bundle → path on this machine.
   * @default - none
   */
  readonly bundledFiles?: Readonly<Record<string, string>>;
  /** @default active tracing, metrics in the "McpAsyncJobs" namespace */
  readonly telemetry?: FunctionTelemetry;
}

/**
 * Every Lambda of the app, with the defaults in one place: Node.js 22 on arm64, an ESM bundle built
 * offline by the local esbuild (minified, code split, with source maps Node applies to stack traces;
 * see function-bundle.ts), its own log group with a retention period, and a role that may write to
 * that log group and nothing else until a construct grants it more.
 */
export class ServiceFunction extends LambdaFunction {
  /** The function's own log group (the inherited `logGroup` is typed as the interface). */
  public readonly functionLogGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    // An explicit role instead of AWSLambdaBasicExecutionRole: logs go to this one log group only.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `Runs the ${id} function`,
    });
    logGroup.grantWrite(role);
    const tracing = props.telemetry?.tracing ?? true;
    // The project has installed its dependencies (and so esbuild) before it bundles.
    lockFileOf(PROJECT_ROOT);

    super(scope, id, {
      code: Code.fromAsset(PROJECT_ROOT, {
        // The asset is named after the bundle's content: the same code deploys as the same asset.
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          local: new LocalFunctionBundling(
            PROJECT_ROOT,
            props.entry ?? lambdaSource(`${props.source}/handler`),
            props.bundledFiles,
          ),
          // Never pulled: local bundling either succeeds or throws, so CDK never falls back to Docker.
          image: DockerImage.fromRegistry("mcp-async-jobs-bundles-locally"),
        },
      }),
      // `handler`, exported by the bundle's entry module, index.mjs.
      handler: "index.handler",
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      role,
      logGroup,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      tracing: tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      environment: {
        NODE_OPTIONS: "--enable-source-maps",
        [ENV.metricsNamespace]: props.telemetry?.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE,
        [ENV.tracingEnabled]: String(tracing),
        ...props.environment,
      },
    });
    this.functionLogGroup = logGroup;

    const runtimeReason =
      "nodejs22.x on purpose: the code, its esbuild target (node22) and its tests are all checked against " +
      "Node 22, which Lambda supports; moving to a newer runtime is a change to this one file, made " +
      "together with the bundling target once the code is tested on that Node version.";
    Validations.of(this).acknowledge(
      { id: "AwsSolutions-L1", reason: runtimeReason },
      { id: "Serverless-LambdaLatestVersion", reason: runtimeReason },
    );
    if (tracing) {
      // Lambda's active tracing grants these two actions; X-Ray has no resource-level permissions for them.
      Validations.of(role).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "xray:PutTraceSegments and xray:PutTelemetryRecords, which active tracing grants, support no " +
          "resource-level permissions: X-Ray documents Resource '*' as the only form for them.",
      });
    } else {
      Validations.of(this).acknowledge({
        id: "Serverless-LambdaTracing",
        reason:
          "Tracing was turned off for this deployment (tracing: false): a job is then followed through its " +
          "row, the job metrics and the structured logs, which carry its jobId, type and caller hash.",
      });
    }
  }
}
