import { Duration, RemovalPolicy } from "aws-cdk-lib";
import type { Dashboard, IAlarmAction } from "aws-cdk-lib/aws-cloudwatch";
import { Construct } from "constructs";
import {
  DEFAULT_MAX_RECEIVE_COUNT,
  DEFAULT_WORKER_TIMEOUT_SECONDS,
} from "../lambdas/shared/config/table-schema.js";
import { JOB_TTL_SECONDS } from "../lambdas/shared/domain/job.js";
import { JobAlarms } from "./alarms.js";
import { JobDashboard } from "./dashboard.js";
import { DeadLetterHandler } from "./dead-letter-handler.js";
import { EventSubscriptionTable } from "./event-subscriptions.js";
import { JobIntegrations } from "./job-integrations.js";
import { JobNotifications } from "./job-notifications.js";
import { JobQueue } from "./job-queue.js";
import { JobTable } from "./job-table.js";
import type { FunctionTelemetry, ServiceFunction } from "./lambda-function.js";
import { McpAuth, type McpAuthProps } from "./mcp-auth.js";
import { McpEndpoint, type McpEndpointProps } from "./mcp-endpoint.js";
import { ResultBucket } from "./result-bucket.js";
import { servedJobTypes } from "./served-job-types.js";
import { JobWorker } from "./worker.js";

/** The endpoint settings passed through unchanged (documented on McpEndpointProps). */
type EndpointSettings = Pick<
  McpEndpointProps,
  | "jobTtl"
  | "callerMaxActiveJobs"
  | "callerMaxStartsPerMinute"
  | "allowedOrigins"
  | "throttleRateLimit"
  | "throttleBurstLimit"
>;

export interface AsyncMcpJobsProps extends EndpointSettings {
  /**
   * Your job types: the path of a TypeScript or JavaScript module that exports
   * `jobTypes: readonly JobType[]` (each made with `defineJobType`). It is bundled into the MCP and
   * worker functions, so each type gets a `start_<name>` tool and is run by the worker. A relative
   * path is resolved from the directory `cdk` runs in.
   * @default - none: only the demo job types, if `includeDemoJobTypes` is true
   */
  readonly jobTypesModule?: string;
  /**
   * Also serve this repository's demo job types (`slow_api`, `failing_api`, `flaky_api`, `hung_api`,
   * `export_api`).
   * @default false
   */
  readonly includeDemoJobTypes?: boolean;
  /** Caller authentication (mode, JWT settings, the opt-in for `none`). @default api-key mode */
  readonly auth?: Omit<McpAuthProps, "removalPolicy">;
  /**
   * What happens to the data (table, API key secret, log groups) on `cdk destroy`. `DESTROY` suits a
   * development stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /** How long one worker invocation (and so one job attempt) may run. @default Duration.seconds(DEFAULT_WORKER_TIMEOUT_SECONDS) */
  readonly workerTimeout?: Duration;
  /** Receives of a job message before it goes to the dead-letter queue. @default DEFAULT_MAX_RECEIVE_COUNT */
  readonly maxReceiveCount?: number;
  /** Job messages per worker invocation. @default WORKER_BATCH_SIZE (1) */
  readonly workerBatchSize?: number;
  /** Worker invocations (and so jobs) at once, 2–1000: protects the slow API. @default WORKER_MAX_CONCURRENCY (20) */
  readonly workerMaxConcurrency?: number;
  /** Notified when an alarm (dead letters, an old queued job) fires. @default - none */
  readonly alarmActions?: readonly IAlarmAction[];
  /**
   * An integrations file: each declared HTTP API becomes a `start_<name>` tool. Checked at synth (a
   * bad file stops synth with one message) and bundled into the MCP and worker functions. When it
   * uses `{{secrets.NAME}}`, a Secrets Manager secret `{ "NAME": "value" }` is created for the worker.
   * @default - none
   */
  readonly integrationsFile?: string;
  /**
   * Bytes of JSON a result may take at all (in the results bucket), at most 100 MB; larger results
   * fail `result_too_large`. Raise the worker's memory with it: a result is held in memory whole.
   * @default DEFAULT_RESULT_MAX_BYTES (10 MB)
   */
  readonly resultMaxBytes?: number;
  /**
   * Bytes of JSON a result may take inline in its job row, 0 to RESULT_INLINE_BYTES.max (16 000);
   * larger results go to the results bucket (0: every result does).
   * @default RESULT_INLINE_BYTES.default (16 000)
   */
  readonly resultInlineBytes?: number;
  /**
   * Completion webhooks: origins (https://host[:port]) a start's `callbackUrl` may point at.
   * @default - none: a start with a callbackUrl is refused
   */
  readonly callbackAllowedOrigins?: readonly string[];
  /** Completion webhooks: an https URL notified when any job ends. @default - none */
  readonly defaultCallbackUrl?: string;
  /**
   * MCP Events: subscriptions one caller may hold at once (EVENT_SUBSCRIPTION_LIMIT).
   * @default DEFAULT_SUBSCRIPTIONS_PER_CALLER (20)
   */
  readonly eventSubscriptionsPerCaller?: number;
  /**
   * Active X-Ray tracing on every function, with their AWS SDK calls traced: one trace per MCP call,
   * linked through the queue to the worker's. Off: no xray grant, no traces.
   * @default true
   */
  readonly tracing?: boolean;
  /** The CloudWatch namespace of the job metrics (embedded metric format). @default "McpAsyncJobs" */
  readonly metricsNamespace?: string;
  /**
   * A CloudWatch dashboard of the jobs, queues, webhooks and functions, with the alarms on it.
   * @default true
   */
  readonly dashboard?: boolean;
}

/**
 * Async jobs for MCP tools in your own CDK app: the MCP endpoint (API Gateway + function), the job
 * table, the job queue with its dead-letter queue, the worker, the dead-letter handler, caller auth
 * and alarms, serving the job types of `jobTypesModule`.
 *
 * Its resources are created in the scope it is given when its id is "Default" (a path segment CDK
 * leaves out of logical IDs): that is how `McpAsyncJobsStack` keeps its deployed logical IDs.
 */
export class AsyncMcpJobs extends Construct {
  /** The URL MCP clients connect to. */
  public readonly mcpUrl: string;
  public readonly table: JobTable;
  public readonly queue: JobQueue;
  public readonly auth: McpAuth;
  public readonly endpoint: McpEndpoint;
  public readonly worker: JobWorker;
  /** Results too large for the job row. */
  public readonly results: ResultBucket;
  public readonly deadLetterHandler: DeadLetterHandler;
  public readonly alarms: JobAlarms;
  /** The declared HTTP integrations, when `integrationsFile` was given. */
  public readonly integrations?: JobIntegrations;
  /** Completion webhooks: the notification queue, its dead-letter queue and alarm, the secret, the delivery function. */
  public readonly notifications: JobNotifications;
  /** MCP Events: the subscription table and its customer-managed key. */
  public readonly eventSubscriptions: EventSubscriptionTable;
  /** The MCP endpoint's function. */
  public readonly mcpFunction: ServiceFunction;
  /** The function that runs the jobs. */
  public readonly workerFunction: ServiceFunction;
  /** The function that settles the jobs of dead-lettered messages. */
  public readonly deadLetterFunction: ServiceFunction;
  /** The CloudWatch dashboard, unless `dashboard: false`. */
  public readonly dashboard?: Dashboard;

  constructor(scope: Construct, id: string, props: AsyncMcpJobsProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const { entries, names } = servedJobTypes(props);
    const telemetry: FunctionTelemetry = {
      tracing: props.tracing ?? true,
      ...(props.metricsNamespace !== undefined ? { metricsNamespace: props.metricsNamespace } : {}),
    };

    this.auth = new McpAuth(this, "Auth", { ...props.auth, removalPolicy });
    this.table = new JobTable(this, "Jobs", { removalPolicy });
    if (props.integrationsFile !== undefined) {
      this.integrations = new JobIntegrations(this, "Integrations", {
        file: props.integrationsFile,
        reservedNames: names,
        removalPolicy,
      });
    }
    this.queue = new JobQueue(this, "JobQueue", {
      consumerTimeout: props.workerTimeout ?? Duration.seconds(DEFAULT_WORKER_TIMEOUT_SECONDS),
      maxReceiveCount: props.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT,
    });
    this.results = new ResultBucket(this, "Results", {
      jobTtl: props.jobTtl ?? Duration.seconds(JOB_TTL_SECONDS.default),
      removalPolicy,
    });
    this.endpoint = new McpEndpoint(this, "Mcp", {
      table: this.table,
      queue: this.queue,
      auth: this.auth,
      results: this.results,
      jobTtl: props.jobTtl,
      callerMaxActiveJobs: props.callerMaxActiveJobs,
      callerMaxStartsPerMinute: props.callerMaxStartsPerMinute,
      allowedOrigins: props.allowedOrigins,
      throttleRateLimit: props.throttleRateLimit,
      throttleBurstLimit: props.throttleBurstLimit,
      logRemovalPolicy: removalPolicy,
      integrations: this.integrations,
      entry: entries?.mcp,
      telemetry,
    });
    this.worker = new JobWorker(this, "Worker", {
      table: this.table,
      queue: this.queue,
      results: this.results,
      resultMaxBytes: props.resultMaxBytes,
      resultInlineBytes: props.resultInlineBytes,
      batchSize: props.workerBatchSize,
      maxConcurrency: props.workerMaxConcurrency,
      logRemovalPolicy: removalPolicy,
      integrations: this.integrations,
      entry: entries?.worker,
      telemetry,
    });
    this.deadLetterHandler = new DeadLetterHandler(this, "DeadLetters", {
      table: this.table,
      queue: this.queue,
      entry: entries?.deadLetter,
      logRemovalPolicy: removalPolicy,
      telemetry,
    });
    this.alarms = new JobAlarms(this, "Alarms", { queue: this.queue, actions: props.alarmActions });
    this.notifications = new JobNotifications(this, "Notifications", {
      table: this.table,
      callbackAllowedOrigins: props.callbackAllowedOrigins,
      defaultCallbackUrl: props.defaultCallbackUrl,
      alarmActions: props.alarmActions,
      removalPolicy,
      logRemovalPolicy: removalPolicy,
      telemetry,
    });
    // Every path that ends a job hands its notifications to the queue: cancel_job and failed
    // starts (MCP), the worker, and the dead-letter handler.
    this.notifications.bindStarter(this.endpoint.function);
    this.notifications.bindProducer(this.worker.function);
    this.notifications.bindProducer(this.deadLetterHandler.function);
    // The dead-letter function settles the notification dead-letter queue too: a delivery SQS gave
    // up on ends failed instead of pending.
    this.notifications.bindDeadLetterConsumer(this.deadLetterHandler.function);
    // MCP Events ride the same queue: the MCP function keeps the subscriptions (its grant covers
    // the listing cancel_job needs), the worker and dead-letter handler list those an ended job
    // notifies, and the delivery function signs with each one's secret.
    this.eventSubscriptions = new EventSubscriptionTable(this, "EventSubscriptions", {
      removalPolicy,
      ...(props.eventSubscriptionsPerCaller !== undefined
        ? { subscriptionsPerCaller: props.eventSubscriptionsPerCaller }
        : {}),
    });
    this.eventSubscriptions.bindSubscriber(this.endpoint.function);
    this.eventSubscriptions.bindLister(this.worker.function);
    this.eventSubscriptions.bindLister(this.deadLetterHandler.function);
    this.eventSubscriptions.bindDeliverer(this.notifications.function);

    this.mcpUrl = this.endpoint.url;
    this.mcpFunction = this.endpoint.function;
    this.workerFunction = this.worker.function;
    this.deadLetterFunction = this.deadLetterHandler.function;

    if (props.dashboard ?? true) {
      this.dashboard = new JobDashboard(this, "Dashboard", {
        ...(props.metricsNamespace !== undefined ? { metricsNamespace: props.metricsNamespace } : {}),
        jobQueue: this.queue.queue,
        jobDeadLetterQueue: this.queue.deadLetterQueue,
        functions: {
          mcp: this.mcpFunction,
          worker: this.workerFunction,
          "dead-letter": this.deadLetterFunction,
          webhooks: this.notifications.function,
        },
        alarms: [
          this.alarms.oldestMessageAge,
          this.alarms.deadLetterDepth,
          this.notifications.deadLetterDepth,
        ],
      }).dashboard;
    }
  }
}
