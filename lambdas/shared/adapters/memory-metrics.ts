import type { JobMetrics, MetricDimensions, MetricName, MetricUnit } from "../domain/metrics.js";

export interface RecordedMetric {
  readonly name: MetricName;
  readonly value: number;
  readonly unit: MetricUnit;
  readonly dimensions: MetricDimensions;
}

/**
 * JobMetrics kept in memory: what tests assert on and what the local stack's summary line reads.
 * `totals` sums every value ever recorded per name; `recorded` keeps the newest `keep` entries
 * (all of them by default) with their dimensions. `flushes` counts the invocations that ended.
 */
export class MemoryJobMetrics implements JobMetrics {
  readonly recorded: RecordedMetric[] = [];
  readonly totals = new Map<MetricName, number>();
  flushes = 0;

  constructor(private readonly keep = Number.POSITIVE_INFINITY) {}

  record(name: MetricName, value: number, unit: MetricUnit, dimensions: MetricDimensions = {}): void {
    this.totals.set(name, (this.totals.get(name) ?? 0) + value);
    this.recorded.push({ name, value, unit, dimensions });
    if (this.recorded.length > this.keep) this.recorded.splice(0, this.recorded.length - this.keep);
  }

  flush(): void {
    this.flushes += 1;
  }

  /** The kept values recorded under `name`, optionally only those whose dimensions include `where`. */
  values(name: MetricName, where: MetricDimensions = {}): number[] {
    return this.recorded
      .filter(
        (entry) =>
          entry.name === name &&
          Object.entries(where).every(
            ([key, value]) => entry.dimensions[key as keyof MetricDimensions] === value,
          ),
      )
      .map((entry) => entry.value);
  }

  /** The sum of every value ever recorded under `name`. */
  total(name: MetricName): number {
    return this.totals.get(name) ?? 0;
  }
}
