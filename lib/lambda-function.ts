import { fileURLToPath } from "node:url";
import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Runtime } from "aws-cdk-lib/aws-lambda";
import type { ICommandHooks } from "aws-cdk-lib/aws-lambda-nodejs";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";

/** The repository root: the handlers, the lock file and tsconfig.json are found from here, never from the cwd. */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * ESM bundles have no `require`; some dependencies still call it for Node built-ins. The banner gives
 * them one. The alias keeps it from clashing with a bundled module's own `createRequire` import.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

export interface ServiceFunctionProps {
  /** The directory under `lambdas/` whose `handler.ts` exports `handler`, e.g. `"worker"`. */
  readonly source: string;
  /**
   * A file exporting `handler` to bundle instead of `lambdas/<source>/handler.ts` (an entry
   * `AsyncMcpJobs` generates for the user's job types).
   * @default `lambdas/<source>/handler.ts`
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

    super(scope, id, {
      entry: props.entry ?? `${REPO_ROOT}lambdas/${props.source}/handler.ts`,
      handler: "handler",
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      role,
      logGroup,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        NODE_OPTIONS: "--enable-source-maps",
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
      {
        id: "Serverless-LambdaTracing",
        reason:
          "A job is followed through its row (status, attempt, timestamps, error) and the structured logs, " +
          "which carry its jobId; active X-Ray tracing would add per-trace charges and an " +
          "xray:PutTraceSegments grant on Resource '*' to every role.",
      },
    );
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
