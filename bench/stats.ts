/** Summary statistics of one series of samples (milliseconds unless the name says otherwise). */
export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentile: the smallest sample with at least `p` percent of the samples at or below it. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  const n = samples.length;
  return {
    n,
    min: n === 0 ? Number.NaN : Math.min(...samples),
    p50: median(samples),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    max: n === 0 ? Number.NaN : Math.max(...samples),
    mean: n === 0 ? Number.NaN : samples.reduce((sum, value) => sum + value, 0) / n,
  };
}

/** Rounds every number of a summary, so the JSON stays readable. */
export function rounded(summary: Summary, digits = 1): Summary {
  const round = (value: number): number => Number(value.toFixed(digits));
  return {
    n: summary.n,
    min: round(summary.min),
    p50: round(summary.p50),
    p95: round(summary.p95),
    p99: round(summary.p99),
    max: round(summary.max),
    mean: round(summary.mean),
  };
}

export function ratio(numerator: number, denominator: number, digits = 2): number {
  return Number((numerator / denominator).toFixed(digits));
}

/** Milliseconds elapsed since a `performance.now()` reading. */
export function since(startMs: number): number {
  return performance.now() - startMs;
}
