import { describe, expect, it } from "vitest";
import { METRIC } from "../../lambdas/shared/domain/metrics.js";
import { roleLogicalId, statementsOfRole, synthStack } from "./synth.js";

interface DashboardBody {
  widgets: Array<{ type: string; properties: Record<string, unknown> & { title?: string } }>;
}

/** The dashboard body with its CloudFormation references written as `{ref}` placeholders. */
function dashboardBody(template: ReturnType<typeof synthStack>["template"]): DashboardBody {
  const dashboards = Object.values(template.findResources("AWS::CloudWatch::Dashboard"));
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0]?.Properties?.DashboardBody as { "Fn::Join": [string, unknown[]] };
  const text = body["Fn::Join"][1].map((part) => (typeof part === "string" ? part : "{ref}")).join("");
  return JSON.parse(text) as DashboardBody;
}

describe("observability in the synthesized template", () => {
  const synth = synthStack();
  const functions = Object.values(synth.template.findResources("AWS::Lambda::Function"));

  it("traces every function actively and tells each where its metrics go", () => {
    expect(functions.length).toBeGreaterThanOrEqual(4);
    for (const fn of functions) {
      expect(fn.Properties.TracingConfig).toEqual({ Mode: "Active" });
      expect(fn.Properties.Environment.Variables).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: "McpAsyncJobs",
        POWERTOOLS_TRACE_ENABLED: "true",
      });
    }
    const worker = statementsOfRole(synth.template, roleLogicalId(synth.stack.worker.function.role));
    expect(worker).toContainEqual(
      expect.objectContaining({
        Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
        Resource: "*",
      }),
    );
  });

  it("builds one dashboard: jobs by outcome and type, queue, times, dead letters, webhooks, functions, alarms", () => {
    const body = dashboardBody(synth.template);
    const titles = body.widgets.map((widget) => widget.properties.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        "Alarms",
        "Jobs by outcome",
        "Jobs ended, by type",
        "Failures by type and error code; retries",
        "Job queue: age of the oldest job, depth",
        "Time queued (start to first claim), ms",
        "Run time (first claim to end), ms",
        "Dead-letter queue depth",
        "Completion webhooks",
        "Lambda errors",
        "Lambda throttles",
        "Lambda duration p99, ms",
      ]),
    );
    const text = JSON.stringify(body);
    for (const name of [
      METRIC.jobsStarted,
      METRIC.jobsCompleted,
      METRIC.jobsFailed,
      METRIC.jobsCancelled,
      METRIC.timeQueued,
      METRIC.runTime,
      METRIC.webhooksDelivered,
      METRIC.webhookRetries,
      METRIC.webhooksFailed,
    ]) {
      expect(text, name).toContain(name);
    }
    expect(text).toContain(`MetricName=\\"${METRIC.timeQueued}\\"', 'p99'`);
    expect(text).toContain("ApproximateAgeOfOldestMessage");
    // The three alarms: each on the status row and with its own graph.
    const status = body.widgets.find((widget) => widget.properties.title === "Alarms");
    expect(status?.properties.alarms).toHaveLength(3);
    expect(
      body.widgets.filter((widget) => String(widget.properties.title).startsWith("Alarm: ")),
    ).toHaveLength(3);
    // Errors, throttles and duration: one line per function.
    const errors = body.widgets.find((widget) => widget.properties.title === "Lambda errors");
    expect(errors?.properties.metrics).toHaveLength(functions.length);
  });

  it("leaves the dashboard and tracing out when told, and uses the namespace it is given", () => {
    const quiet = synthStack({ dashboard: false, tracing: false, metricsNamespace: "Team/Jobs" });
    quiet.template.resourceCountIs("AWS::CloudWatch::Dashboard", 0);
    expect(quiet.stack.jobs.dashboard).toBeUndefined();
    for (const fn of Object.values(quiet.template.findResources("AWS::Lambda::Function"))) {
      expect(fn.Properties.TracingConfig).toBeUndefined();
      expect(fn.Properties.Environment.Variables).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: "Team/Jobs",
        POWERTOOLS_TRACE_ENABLED: "false",
      });
    }
    const worker = statementsOfRole(quiet.template, roleLogicalId(quiet.stack.worker.function.role));
    expect(JSON.stringify(worker)).not.toContain("xray:");
  });

  it("graphs the namespace it is given", () => {
    const custom = synthStack({ metricsNamespace: "Team/Jobs" });
    expect(JSON.stringify(dashboardBody(custom.template))).toContain("{Team/Jobs,service,JobType}");
  });
});
