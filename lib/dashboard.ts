import { Duration } from "aws-cdk-lib";
import {
  type Alarm,
  AlarmStatusWidget,
  AlarmWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
} from "aws-cdk-lib/aws-cloudwatch";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { DEFAULT_METRICS_NAMESPACE, METRICS_SERVICE } from "../lambdas/shared/config/telemetry-config.js";
import { METRIC, type MetricName } from "../lambdas/shared/domain/metrics.js";

export interface JobDashboardProps {
  /** The namespace the functions write their job metrics to. @default "McpAsyncJobs" */
  readonly metricsNamespace?: string;
  /** The job queue and its dead-letter queue. */
  readonly jobQueue: IQueue;
  readonly jobDeadLetterQueue: IQueue;
  /** The functions whose errors, throttles and duration are graphed, by the name the graphs show. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** Shown with their thresholds, and in one status row. */
  readonly alarms: readonly Alarm[];
  /** @default - CloudFormation names it */
  readonly dashboardName?: string;
  /** The period of every graph. @default Duration.minutes(5) */
  readonly period?: Duration;
}

/**
 * The CloudWatch dashboard of a deployment: jobs by outcome and type, the queue's age and depth, the
 * time jobs wait and run (p50, p99), dead letters, webhook deliveries, each function's errors,
 * throttles and duration, and the alarms beside the graphs. docs/observability.md says what each
 * graph shows and what to do when its alarm fires.
 */
export class JobDashboard extends Construct {
  public readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: JobDashboardProps) {
    super(scope, id);
    const namespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
    const period = props.period ?? Duration.minutes(5);
    const seconds = period.toSeconds();

    /** Every series of `name` with exactly these dimensions (one line per job type, per error code). */
    const search = (name: MetricName, dimensions: readonly string[], statistic: string, label: string) =>
      new MathExpression({
        expression: `SEARCH('{${[namespace, "service", ...dimensions].join(",")}} MetricName="${name}"', '${statistic}', ${seconds})`,
        label,
        period,
        usingMetrics: {},
      });
    /** One line: the sum over every job type. */
    const total = (name: MetricName, label: string) =>
      new MathExpression({
        expression: `SUM(SEARCH('{${namespace},service,JobType} MetricName="${name}"', 'Sum', ${seconds}))`,
        label,
        period,
        usingMetrics: {},
      });
    /** A metric with only the `service` dimension. */
    const plain = (name: MetricName, label: string) =>
      new Metric({
        namespace,
        metricName: name,
        dimensionsMap: { service: METRICS_SERVICE },
        statistic: "Sum",
        period,
        label,
      });
    const perFunction = (metric: (fn: IFunction) => IMetric): IMetric[] =>
      Object.values(props.functions).map(metric);
    const functionMetric = (statistic: string, name: "metricErrors" | "metricThrottles" | "metricDuration") =>
      perFunction((fn) => fn[name]({ statistic, period, label: labelOf(props.functions, fn) }));
    const wide = 12;
    const height = 6;

    this.dashboard = new Dashboard(this, "Dashboard", {
      ...(props.dashboardName !== undefined ? { dashboardName: props.dashboardName } : {}),
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# Async MCP jobs\nJob metrics from namespace \`${namespace}\`; every graph sums ${period.toMinutes()}-minute periods. What each graph means and what to do when an alarm fires: docs/observability.md.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: "Alarms", alarms: [...props.alarms], width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Jobs by outcome",
        left: [
          total(METRIC.jobsStarted, "started"),
          total(METRIC.jobsCompleted, "completed"),
          total(METRIC.jobsFailed, "failed"),
          total(METRIC.jobsCancelled, "cancelled"),
        ],
        width: wide,
        height,
      }),
      new GraphWidget({
        title: "Jobs ended, by type",
        left: [
          search(METRIC.jobsCompleted, ["JobType"], "Sum", "completed"),
          search(METRIC.jobsCancelled, ["JobType"], "Sum", "cancelled"),
        ],
        right: [search(METRIC.jobsFailed, ["JobType", "ErrorCode"], "Sum", "failed")],
        width: wide,
        height,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Failures by type and error code; retries",
        left: [search(METRIC.jobsFailed, ["JobType", "ErrorCode"], "Sum", "failed")],
        right: [search(METRIC.jobRetries, ["JobType"], "Sum", "retries")],
        width: wide,
        height,
      }),
      new GraphWidget({
        title: "Job queue: age of the oldest job, depth",
        left: [
          props.jobQueue.metricApproximateAgeOfOldestMessage({
            period,
            statistic: "Maximum",
            label: "oldest (s)",
          }),
        ],
        right: [
          props.jobQueue.metricApproximateNumberOfMessagesVisible({
            period,
            statistic: "Maximum",
            label: "waiting",
          }),
          props.jobQueue.metricApproximateNumberOfMessagesNotVisible({
            period,
            statistic: "Maximum",
            label: "in flight",
          }),
        ],
        width: wide,
        height,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Time queued (start to first claim), ms",
        left: [
          search(METRIC.timeQueued, ["JobType"], "p50", "p50"),
          search(METRIC.timeQueued, ["JobType"], "p99", "p99"),
        ],
        width: wide,
        height,
      }),
      new GraphWidget({
        title: "Run time (first claim to end), ms",
        left: [
          search(METRIC.runTime, ["JobType"], "p50", "p50"),
          search(METRIC.runTime, ["JobType"], "p99", "p99"),
        ],
        right: [search(METRIC.timeToTerminal, ["JobType"], "p99", "start to end p99")],
        width: wide,
        height,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Dead-letter queue depth",
        left: [
          props.jobDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period,
            statistic: "Maximum",
            label: "dead letters",
          }),
        ],
        width: wide,
        height,
      }),
      new GraphWidget({
        title: "Completion webhooks",
        left: [
          plain(METRIC.webhooksDelivered, "delivered"),
          plain(METRIC.webhookRetries, "retried"),
          plain(METRIC.webhooksFailed, "failed"),
        ],
        width: wide,
        height,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Results stored in S3 (count, bytes); checks per submit/check job",
        left: [search(METRIC.resultsStored, ["JobType"], "Sum", "stored")],
        right: [
          search(METRIC.resultBytes, ["JobType"], "Maximum", "largest bytes"),
          search(METRIC.checksPerJob, ["JobType"], "Average", "checks per job"),
        ],
        width: wide,
        height,
      }),
      new GraphWidget({
        title: "Refusals and failed calls",
        left: [
          search(METRIC.callerLimitRefusals, ["Limit"], "Sum", "caller limit"),
          plain(METRIC.storeCallFailures, "store call failed (start)"),
          plain(METRIC.queueCallFailures, "queue send failed (start)"),
          plain(METRIC.unrecordedDeliveries, "worker delivery unrecorded"),
        ],
        width: wide,
        height,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Lambda errors",
        left: functionMetric("Sum", "metricErrors"),
        width: 8,
        height,
      }),
      new GraphWidget({
        title: "Lambda throttles",
        left: functionMetric("Sum", "metricThrottles"),
        width: 8,
        height,
      }),
      new GraphWidget({
        title: "Lambda duration p99, ms",
        left: functionMetric("p99", "metricDuration"),
        width: 8,
        height,
      }),
    );
    this.dashboard.addWidgets(
      ...props.alarms.map(
        (alarm) =>
          new AlarmWidget({
            title: `Alarm: ${alarm.node.path.split("/").slice(-2).join(" ")}`,
            alarm,
            width: 24 / Math.min(props.alarms.length, 3),
            height,
          }),
      ),
    );
  }
}

function labelOf(functions: Readonly<Record<string, IFunction>>, fn: IFunction): string {
  return Object.entries(functions).find(([, candidate]) => candidate === fn)?.[0] ?? fn.node.id;
}
