import { tmpdir } from "node:os";
import { resolve } from "node:path";
import { type RemovalPolicy, Stack, Stage, Validations } from "aws-cdk-lib";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { ENV } from "../lambdas/shared/config/env-names.js";
import {
  type ReservedNames,
  readIntegrationsFile,
  secretNames,
} from "../lambdas/shared/integrations/load.js";
import { type StagedFiles, stageIntegrationsFile } from "../lambdas/shared/integrations/openapi/stage.js";

/** Where the integrations file sits inside each function's bundle. */
export const BUNDLED_INTEGRATIONS_FILE = "integrations.json";
/** Lambda unpacks the bundle here; the functions read the file from this absolute path. */
const LAMBDA_TASK_ROOT = "/var/task";

export interface JobIntegrationsProps {
  /** Path of the integrations file (`-c integrationsFile=<path>`), read and checked at synth. */
  readonly file: string;
  /**
   * Job types the functions already serve, each name with where it comes from (named in the error);
   * an integration may not take their names. @default - none
   */
  readonly reservedNames?: ReservedNames;
  /**
   * What happens to the integrations secret when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The declared HTTP integrations: the file is checked at synth (a bad file fails synth with one
 * message naming the integration and the field) and copied into the functions' bundles. When the
 * file uses `{{secrets.NAME}}`, one Secrets Manager secret `{ "NAME": "value" }` holds the values;
 * only the worker may read it.
 */
export class JobIntegrations extends Construct {
  /** The absolute path of the checked file. */
  public readonly file: string;
  /** Tool names this file adds, e.g. `render_report`. */
  public readonly names: readonly string[];
  /** Present only when the file names secrets. */
  public readonly secret?: Secret;
  /** A file with OpenAPI imports is bundled as a copy beside its dereferenced documents. */
  private readonly staged?: StagedFiles;

  constructor(scope: Construct, id: string, props: JobIntegrationsProps) {
    super(scope, id);
    this.file = resolve(props.file);
    const integrations = readIntegrationsFile(this.file, props.reservedNames ?? []);
    this.names = integrations.map(({ integration }) => integration.name);
    if (integrations.some(({ operation }) => operation !== undefined)) {
      this.staged = stageIntegrationsFile(
        this.file,
        Stage.of(this)?.outdir ?? tmpdir(),
        BUNDLED_INTEGRATIONS_FILE,
      );
    }
    const names = secretNames(integrations);
    if (names.length > 0) {
      this.secret = new Secret(this, "Secrets", {
        description: `Secrets of the HTTP integrations of ${Stack.of(this).stackName}: {"NAME": "value"} for ${names.join(", ")}`,
        // The names with empty values: the worker refuses to start until each is filled in.
        generateSecretString: {
          secretStringTemplate: JSON.stringify(Object.fromEntries(names.map((name) => [name, ""]))),
          generateStringKey: "_unused",
        },
        removalPolicy: props.removalPolicy,
      });
      Validations.of(this.secret).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "The values are credentials issued by the wrapped third-party APIs; Secrets Manager cannot rotate " +
          "them. The operator rotates them at the API and puts the new value here; new worker containers " +
          "read it at their cold start.",
      });
    }
  }

  /** Copies of the file (and of the OpenAPI documents it imports) into a function's bundle: `bundledFiles` of ServiceFunction. */
  public get bundledFiles(): Readonly<Record<string, string>> {
    return this.staged ?? { [BUNDLED_INTEGRATIONS_FILE]: this.file };
  }

  /** The MCP function lists the tools and checks input: it gets the file, never the secret. */
  public bindMcp(fn: LambdaFunction): void {
    fn.addEnvironment(ENV.integrationsFile, `${LAMBDA_TASK_ROOT}/${BUNDLED_INTEGRATIONS_FILE}`);
  }

  /** The worker makes the calls: it gets the file and may read the secret (the only grant of it). */
  public bindWorker(fn: LambdaFunction): void {
    fn.addEnvironment(ENV.integrationsFile, `${LAMBDA_TASK_ROOT}/${BUNDLED_INTEGRATIONS_FILE}`);
    if (this.secret) {
      this.secret.grantRead(fn);
      fn.addEnvironment(ENV.integrationsSecretArn, this.secret.secretArn);
    }
  }
}
