import { Metrics, MetricUnit as PowertoolsUnit } from "@aws-lambda-powertools/metrics";
import { DEFAULT_METRICS_NAMESPACE, METRICS_SERVICE } from "../config/telemetry-config.js";
import type { JobMetrics, MetricDimensions, MetricName, MetricUnit } from "../domain/metrics.js";

const UNITS = {
  Count: PowertoolsUnit.Count,
  Milliseconds: PowertoolsUnit.Milliseconds,
  Bytes: PowertoolsUnit.Bytes,
} as const satisfies Record<MetricUnit, string>;

interface Pending {
  readonly name: MetricName;
  readonly value: number;
  readonly unit: MetricUnit;
  readonly dimensions: MetricDimensions;
}

/**
 * JobMetrics as CloudWatch embedded metrics (EMF) through Powertools Metrics: no API calls, one
 * JSON line on stdout per dimension set at each flush. Values recorded between flushes are kept
 * here and grouped by their dimensions, since one EMF document has one set of dimensions.
 */
export class PowertoolsJobMetrics implements JobMetrics {
  private pending: Pending[] = [];

  constructor(
    private readonly metrics: Metrics = new Metrics({
      namespace: DEFAULT_METRICS_NAMESPACE,
      serviceName: METRICS_SERVICE,
    }),
  ) {}

  static forNamespace(namespace: string | undefined): PowertoolsJobMetrics {
    return new PowertoolsJobMetrics(
      new Metrics({ namespace: namespace || DEFAULT_METRICS_NAMESPACE, serviceName: METRICS_SERVICE }),
    );
  }

  record(name: MetricName, value: number, unit: MetricUnit, dimensions: MetricDimensions = {}): void {
    if (Number.isFinite(value)) this.pending.push({ name, value, unit, dimensions });
  }

  flush(): void {
    const groups = new Map<string, Pending[]>();
    for (const entry of this.pending) {
      const key = JSON.stringify(Object.entries(entry.dimensions).sort());
      groups.set(key, [...(groups.get(key) ?? []), entry]);
    }
    this.pending = [];
    for (const entries of groups.values()) {
      const first = entries[0];
      if (first === undefined) continue;
      for (const [key, value] of Object.entries(first.dimensions)) {
        if (typeof value === "string" && value !== "") this.metrics.addDimension(key, value);
      }
      for (const entry of entries) {
        this.metrics.addMetric(entry.name, UNITS[entry.unit], entry.value);
      }
      this.metrics.publishStoredMetrics();
    }
  }
}
