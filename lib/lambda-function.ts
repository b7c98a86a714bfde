import { existsSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import type { ICommandHooks } from "aws-cdk-lib/aws-lambda-nodejs";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { ENV } from "../lambdas/shared/config/env-names.js";
import { DEFAULT_METRICS_NAMESPACE } from "../lambdas/shared/config/telemetry-config.js";

/**
 * This package's root (the nearest directory above this module with a package.json): the repository
 * when run from its TypeScript sources, the installed package when run from its build (`dist/lib/`).
 * It ends with a separator, as it always has.
 */
export const REPO_ROOT = `${packageRootOf(fileURLToPath(new URL(".", import.meta.url)))}${sep}`;

/**
 * The shipped handler sources, next to this module's own directory: `lambdas/*.ts` in the repository,
 * the built `dist/lambdas/*.js` in an installed package, so the handlers, the runtime entry a user's
 * job types import and the factories are one copy of the code in a bundle.
 */
const LAMBDAS_DIR = fileURLToPath(new URL("../lambdas/", import.meta.url));
const SOURCE_EXTENSION = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/** A shipped module under `lambdas/`, by its path without extension (e.g. `shared/handlers`). */
export function lambdaSource(path: string): string {
  return join(LAMBDAS_DIR, `${path}${SOURCE_EXTENSION}`);
}

/**
 * The project that bundles the functions: this repository, or, when this package is installed, the
 * project whose `node_modules` holds it. esbuild runs there (the project's own `esbuild`), its lock
 * file names the package manager, and every entry must be under it (CDK refuses others).
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

/** The project's lock file; NodejsFunction needs one, under the project root. */
export function lockFileOf(projectRoot: string): string {
  const found = LOCK_FILES.map((name) => join(projectRoot, name)).find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(
      `AsyncMcpJobs: no lock file (${LOCK_FILES.join(", ")}) in ${projectRoot}, the project that bundles the functions. Install its dependencies first (npm install).`,
    );
  }
  return found;
}

/**
 * ESM bundles have no `require`; some dependencies still call it for Node built-ins. The banner gives
 * them one. The alias keeps it from clashing with a bundled module's own `createRequire` import.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/**
 * Packages replaced by a stand-in in every bundle (esbuild aliases): code a function imports but never
 * runs in Lambda. Ajv is built by the MCP SDK's server only to check form-elicitation answers, which
 * this server never requests; the SDK's nested STS, SSO and sign-in clients serve only credential
 * sources that come after the environment, where Lambda puts a function's credentials
 * (lambdas/shared/bundle-stubs/).
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  ajv: lambdaSource("shared/bundle-stubs/ajv"),
  "ajv-formats": lambdaSource("shared/bundle-stubs/ajv-formats"),
  ...Object.fromEntries(
    ["sts", "sso", "sso-oidc", "signin"].map((client) => [
      `@aws-sdk/nested-clients/${client}`,
      lambdaSource("shared/bundle-stubs/nested-clients"),
    ]),
  ),
};

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
 * offline by the local esbuild (minified, with source maps Node applies to stack traces), its own log
 * group with a retention period, and a role that may write to that log group and nothing else until a
 * construct grants it more.
 */
export class ServiceFunction extends NodejsFunction {
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

    super(scope, id, {
      entry: props.entry ?? lambdaSource(`${props.source}/handler`),
      handler: "handler",
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: lockFileOf(PROJECT_ROOT),
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
      bundling: {
        format: OutputFormat.ESM,
        target: "node22",
        mainFields: ["module", "main"],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // The SDK version the code is tested with, not whatever the runtime happens to ship.
        bundleAwsSDK: true,
        esbuildArgs: Object.fromEntries(
          Object.entries(BUNDLE_ALIASES).map(([name, path]) => [`--alias:${name}`, path]),
        ),
        forceDockerBundling: false,
        ...(props.bundledFiles ? { commandHooks: copyInto(props.bundledFiles) } : {}),
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

/** Bundling hooks that copy each file into the bundle's output directory after esbuild has run. */
function copyInto(files: Readonly<Record<string, string>>): ICommandHooks {
  const quote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_inputDir, outputDir) =>
      Object.entries(files).map(([name, source]) => `cp ${quote(source)} ${quote(`${outputDir}/${name}`)}`),
  };
}
