import { Duration, RemovalPolicy } from "aws-cdk-lib";
import type { Node } from "constructs";
import type { McpAsyncJobsStackProps } from "./mcp-async-jobs-stack.js";
import { AUTH_MODES, type AuthMode } from "./mcp-auth.js";

/** The stack name when `-c stackName=...` is not given. */
export const DEFAULT_STACK_NAME = "McpAsyncJobs";

/**
 * The `-c key=value` flags `bin/app.ts` understands (also settable under "context" in cdk.json):
 *
 * | flag | default | meaning |
 * |---|---|---|
 * | `stackName` | `McpAsyncJobs` | CloudFormation stack name |
 * | `authMode` | `api-key` | `api-key`, `jwt` or `none` |
 * | `jwtIssuer`, `jwtAudience` | — | required with `authMode=jwt` |
 * | `jwtJwksUrl` | issuer metadata | JWKS URL |
 * | `jwtRequiredScopes` | none | comma-separated scopes every token must hold |
 * | `jwtAuthorizationServers` | the issuer | comma-separated, announced in protected resource metadata |
 * | `allowUnauthenticated` | `false` | required (`true`) with `authMode=none` |
 * | `allowedOrigins` | none | comma-separated browser origins |
 * | `callerMaxActiveJobs` | `20` | per caller, 0 = no limit |
 * | `callerMaxStartsPerMinute` | `60` | per caller, 0 = no limit |
 * | `jobTtlSeconds` | `86400` | 3600–604800 |
 * | `workerMaxConcurrency` | `20` | jobs running at once, 2–1000 |
 * | `callbackAllowedOrigins` | none | comma-separated https origins a start's `callbackUrl` may use |
 * | `defaultCallbackUrl` | none | an https URL notified when any job ends |
 * | `eventSubscriptionsPerCaller` | `20` | MCP Events subscriptions one caller may hold at once |
 * | `removalPolicy` | `retain` | `destroy` deletes the table, key secret and logs with the stack |
 * | `integrationsFile` | none | an integrations file: each declared HTTP API becomes a `start_<name>` tool |
 * | `resultMaxBytes` | `10000000` | bytes of JSON a result may take at all, 1000–100000000; larger results fail `result_too_large` |
 * | `resultInlineBytes` | `16000` | results up to this many bytes stay in the job row, 0–16000; larger ones go to the results bucket |
 */
export interface AppContext {
  readonly stackName: string;
  readonly props: McpAsyncJobsStackProps;
}

export function readAppContext(node: Node): AppContext {
  const text = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      return String(value).trim();
    }
    throw new Error(`Context "${key}" must be a string, number or boolean`);
  };
  const list = (key: string): string[] | undefined => {
    const value = text(key);
    const items = value
      ?.split(",")
      .map((item) => item.trim())
      .filter((item) => item.length > 0);
    return items?.length ? items : undefined;
  };
  const integer = (key: string): number | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new Error(`Context "${key}" must be a whole number; got "${value}"`);
    return Number(value);
  };
  const flag = (key: string): boolean => {
    const value = text(key)?.toLowerCase();
    if (value === undefined || value === "false") return false;
    if (value === "true") return true;
    throw new Error(`Context "${key}" must be true or false; got "${value}"`);
  };

  const authMode = text("authMode") ?? "api-key";
  if (!(AUTH_MODES as readonly string[]).includes(authMode)) {
    throw new Error(`Context "authMode" must be one of ${AUTH_MODES.join(", ")}; got "${authMode}"`);
  }
  const removalPolicy = text("removalPolicy")?.toLowerCase() ?? "retain";
  if (removalPolicy !== "retain" && removalPolicy !== "destroy") {
    throw new Error(`Context "removalPolicy" must be retain or destroy; got "${removalPolicy}"`);
  }
  const jobTtlSeconds = integer("jobTtlSeconds");

  return {
    stackName: text("stackName") ?? DEFAULT_STACK_NAME,
    props: {
      auth: {
        mode: authMode as AuthMode,
        jwtIssuer: text("jwtIssuer"),
        jwtAudience: text("jwtAudience"),
        jwtJwksUrl: text("jwtJwksUrl"),
        jwtRequiredScopes: list("jwtRequiredScopes"),
        jwtAuthorizationServers: list("jwtAuthorizationServers"),
        allowUnauthenticated: flag("allowUnauthenticated"),
      },
      removalPolicy: removalPolicy === "destroy" ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      allowedOrigins: list("allowedOrigins"),
      callerMaxActiveJobs: integer("callerMaxActiveJobs"),
      callerMaxStartsPerMinute: integer("callerMaxStartsPerMinute"),
      jobTtl: jobTtlSeconds === undefined ? undefined : Duration.seconds(jobTtlSeconds),
      workerMaxConcurrency: integer("workerMaxConcurrency"),
      integrationsFile: text("integrationsFile"),
      resultMaxBytes: integer("resultMaxBytes"),
      resultInlineBytes: integer("resultInlineBytes"),
      callbackAllowedOrigins: list("callbackAllowedOrigins"),
      defaultCallbackUrl: text("defaultCallbackUrl"),
      eventSubscriptionsPerCaller: integer("eventSubscriptionsPerCaller"),
    },
  };
}
