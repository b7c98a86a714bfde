import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import { HttpApi, type HttpStage, LogGroupLogDestination } from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { ENV } from "../lambdas/shared/config/env-names.js";
import { MCP_FUNCTION_TIMEOUT_SECONDS, MCP_PATH } from "../lambdas/shared/config/functions.js";
import { JOB_TTL_SECONDS } from "../lambdas/shared/domain/job.js";
import type { JobIntegrations } from "./job-integrations.js";
import type { JobQueue } from "./job-queue.js";
import type { JobTable } from "./job-table.js";
import { type FunctionTelemetry, ServiceFunction } from "./lambda-function.js";
import type { McpAuth } from "./mcp-auth.js";
import type { ResultBucket } from "./result-bucket.js";

/** The path MCP clients are given (`McpUrl`); every path reaches the function, which routes itself. */
export { MCP_PATH };

/**
 * API Gateway gives up on an HTTP API integration after 30 s. The function stops before that, so it
 * never works on for a client that is gone; `waitSeconds` (at most 25) plus a cold start fits.
 */
export const MCP_FUNCTION_TIMEOUT = Duration.seconds(MCP_FUNCTION_TIMEOUT_SECONDS);

export interface McpEndpointProps {
  readonly table: JobTable;
  readonly queue: JobQueue;
  readonly auth: McpAuth;
  /** Stored results: the function reads them and, in its answers, links to them (presigned, 15 min). */
  readonly results: ResultBucket;
  /**
   * How long a job id works (its row's TTL), 1 h to 7 d.
   * @default Duration.seconds(JOB_TTL_SECONDS.default), 24 h
   */
  readonly jobTtl?: Duration;
  /**
   * Queued and running jobs one caller may have at once; 0 turns the limit off.
   * @default 20
   */
  readonly callerMaxActiveJobs?: number;
  /**
   * Jobs one caller may start per minute; 0 turns the limit off.
   * @default 60
   */
  readonly callerMaxStartsPerMinute?: number;
  /**
   * Browser origins allowed to call the endpoint (a present `Origin` not listed gets 403).
   * @default - the function's default: no browser origin
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * Steady-state requests per second the whole API accepts before answering 429.
   * @default 50
   */
  readonly throttleRateLimit?: number;
  /**
   * Requests the API accepts in a burst above the steady rate.
   * @default 100
   */
  readonly throttleBurstLimit?: number;
  /** Declared HTTP integrations: each becomes a `start_<name>` tool (bundled; no secret access). @default - none */
  readonly integrations?: JobIntegrations;
  /** @default 512 */
  readonly memorySize?: number;
  /** For the function's logs and the access logs. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Tracing and the metrics namespace of its function. @default active tracing, "McpAsyncJobs" */
  readonly telemetry?: FunctionTelemetry;
  /** The function's entry, a file exporting `handler`. @default `lambdas/mcp/handler.ts` (the demo job types) */
  readonly entry?: string;
}

/**
 * The MCP front door: an API Gateway HTTP API (payload format 2.0, the same event a Function URL
 * sends) with stage throttling and JSON access logs, in front of the MCP function, which does its own
 * authentication (bearer API key or JWT) and answers within the 30 s integration limit.
 */
export class McpEndpoint extends Construct {
  public readonly function: ServiceFunction;
  public readonly api: HttpApi;
  public readonly stage: HttpStage;
  /** The URL MCP clients connect to. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: McpEndpointProps) {
    super(scope, id);
    const jobTtlSeconds = (props.jobTtl ?? Duration.seconds(JOB_TTL_SECONDS.default)).toSeconds();
    if (jobTtlSeconds < JOB_TTL_SECONDS.min || jobTtlSeconds > JOB_TTL_SECONDS.max) {
      throw new Error(
        `jobTtl must be from ${JOB_TTL_SECONDS.min} to ${JOB_TTL_SECONDS.max} s; got ${jobTtlSeconds}`,
      );
    }
    const callerMaxActiveJobs = nonNegativeInteger("callerMaxActiveJobs", props.callerMaxActiveJobs ?? 20);
    const callerMaxStartsPerMinute = nonNegativeInteger(
      "callerMaxStartsPerMinute",
      props.callerMaxStartsPerMinute ?? 60,
    );

    this.function = new ServiceFunction(this, "Function", {
      source: "mcp",
      entry: props.entry,
      description: "MCP server (Streamable HTTP, stateless): starts, polls, cancels and lists jobs",
      timeout: MCP_FUNCTION_TIMEOUT,
      memorySize: props.memorySize ?? 512,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      telemetry: props.telemetry,
      environment: {
        [ENV.jobTtlSeconds]: String(jobTtlSeconds),
        [ENV.callerMaxActiveJobs]: String(callerMaxActiveJobs),
        [ENV.callerMaxStartsPerMinute]: String(callerMaxStartsPerMinute),
        ...(props.allowedOrigins?.length ? { [ENV.allowedOrigins]: props.allowedOrigins.join(",") } : {}),
      },
      bundledFiles: props.integrations?.bundledFiles,
    });
    props.integrations?.bindMcp(this.function);
    props.table.bindApi(this.function);
    props.queue.bindProducer(this.function);
    props.auth.bind(this.function);
    props.results.bindReader(this.function);
    this.function.addEnvironment(ENV.resultPresignedUrls, "true");
    Validations.of(this.function).acknowledge({
      id: "Serverless-LambdaDLQ",
      reason:
        "API Gateway invokes this function synchronously and the MCP client gets the error; a Lambda " +
        "dead-letter target applies to asynchronous invocations only and would never receive anything.",
    });

    this.api = new HttpApi(this, "Api", {
      description: "MCP endpoint (Streamable HTTP)",
      // Every method and path goes to the function: it answers GET/DELETE with 405 and serves the
      // OAuth protected resource metadata under /.well-known in jwt mode.
      defaultIntegration: new HttpLambdaIntegration("McpIntegration", this.function),
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, "AccessLogs", {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.stage = this.api.addStage("DefaultStage", {
      stageName: "$default",
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit ?? 50, burstLimit: props.throttleBurstLimit ?? 100 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // Structured, and without headers: the Authorization header never reaches a log.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            time: "$context.requestTime",
            ip: "$context.identity.sourceIp",
            userAgent: "$context.identity.userAgent",
            method: "$context.httpMethod",
            path: "$context.path",
            status: "$context.status",
            responseLength: "$context.responseLength",
            latencyMs: "$context.responseLatency",
            integrationLatencyMs: "$context.integrationLatency",
            integrationError: "$context.integrationErrorMessage",
          }),
        ),
      },
    });
    const route = this.api.node.tryFindChild("DefaultRoute");
    if (route) {
      Validations.of(route).acknowledge({
        id: "AwsSolutions-APIG4",
        reason:
          props.auth.mode === "none"
            ? "authMode none was chosen explicitly with allowUnauthenticated=true (synth warns about it)."
            : `The MCP function authenticates every request itself (authMode ${props.auth.mode}: a bearer ` +
              "API key from Secrets Manager, or a JWT checked against the issuer's keys), because MCP " +
              "clients need its 401 with WWW-Authenticate and protected resource metadata, which an API " +
              "Gateway authorizer cannot answer.",
      });
    }
    this.url = `${this.api.apiEndpoint}${MCP_PATH}`;
  }
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a whole number ≥ 0; got ${value}`);
  return value;
}
