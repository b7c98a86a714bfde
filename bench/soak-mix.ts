import type { JobView } from "../lambdas/shared/domain/job.js";

/** The soak's batch_api jobs last this long at most; BATCH_API_CHECK_SECONDS is 1 in the soak. */
export const SOAK_BATCH_SECONDS = { min: 1, max: 4 } as const;

/** export_api's result, exactly as the job type builds it: the soak compares its JSON. */
function exportResultJson(query: string, rows: number): string {
  return JSON.stringify({
    rows: Array.from({ length: rows }, (_, index) => ({ n: index + 1, text: `${query} #${index + 1}` })),
  });
}

/** A seeded source of randomness, so a soak run can be repeated (`--seed`). */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer from `min` to `max`, both included. */
  int(min: number, max: number): number;
  /** True with probability `rate`. */
  chance(rate: number): boolean;
}

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    // mulberry32: small, fast, and good enough to pick jobs and faults.
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (rate) => rate > 0 && next() < rate,
  };
}

/** One kind of job in the soak's mix: how often, with what input, and what it must end as. */
export interface SoakKind {
  /** Relative share of the mix. */
  readonly weight: number;
  /** The `start_<type>` arguments for one job (idempotencyKey is added by the soak). */
  input(random: Random, index: number): Record<string, unknown>;
  /**
   * The outcome the job must reach when no fault touched it: a terminal view whose `result` is the
   * result as read back (inline from get_job, or the stored object's JSON), never the row's claims.
   */
  expected(input: Record<string, unknown>, view: JobView): boolean;
  /** The exact result JSON the job type builds for this input, when it depends on the input alone. */
  expectedJson?(input: Record<string, unknown>): string;
}

function resultField(view: JobView, field: string): unknown {
  return typeof view.result === "object" && view.result !== null
    ? (view.result as Record<string, unknown>)[field]
    : undefined;
}

/**
 * Every registered job type, keyed by its name. A job type without an entry stops the soak, so a
 * new type joins the mix with one entry here. Faults may legitimately change an outcome: a job a
 * fault touched may also end `failed` with `retryable: true`, and a job the soak cancelled may end
 * `cancelled`; anything else counts as a wrong outcome.
 */
export const SOAK_MIX: Readonly<Record<string, SoakKind>> = {
  slow_api: {
    weight: 40,
    input: (random, index) => ({ query: `soak ${index}`, delaySeconds: random.int(0, 2) }),
    expected: (input, view) =>
      view.status === "completed" && resultField(view, "answer") === `Slow result for: ${input.query}`,
    expectedJson: (input) => JSON.stringify({ answer: `Slow result for: ${input.query}` }),
  },
  failing_api: {
    weight: 15,
    input: (random, index) => ({ query: `soak ${index}`, delaySeconds: random.int(0, 1) }),
    expected: (_input, view) =>
      view.status === "failed" &&
      view.error?.code === "external_api_failed_dependency" &&
      view.error.retryable === false,
  },
  flaky_api: {
    weight: 40,
    input: (random, index) => ({ query: `soak ${index}`, delaySeconds: 0, failTimes: random.int(0, 2) }),
    expected: (input, view) =>
      view.status === "completed" &&
      resultField(view, "answer") === `Flaky result for: ${input.query}` &&
      Number(resultField(view, "attempts")) >= Number(input.failTimes) + 1,
  },
  hung_api: {
    weight: 3,
    input: (_random, index) => ({ query: `soak ${index}` }),
    expected: (_input, view) =>
      view.status === "failed" && view.error?.code === "timeout" && view.error.retryable === true,
  },
  batch_api: {
    weight: 8,
    input: (random, index) => ({
      query: `soak ${index}`,
      durationSeconds: random.int(SOAK_BATCH_SECONDS.min, SOAK_BATCH_SECONDS.max),
    }),
    expected: (input, view) =>
      view.status === "completed" && resultField(view, "answer") === `Batch result for: ${input.query}`,
    expectedJson: (input) => JSON.stringify({ answer: `Batch result for: ${input.query}` }),
  },
  export_api: {
    weight: 6,
    // About 35 bytes a row: from 100 rows (inline) to 1 200 (about 40 KB, past the 16 000-byte
    // inline bound, so stored in S3 and read back from the bucket, bytes and SHA-256).
    input: (random, index) => ({ query: `soak ${index}`, rows: random.int(100, 1_200), delaySeconds: 0 }),
    expected: (input, view) =>
      view.status === "completed" &&
      JSON.stringify(view.result) === exportResultJson(String(input.query), Number(input.rows)),
    expectedJson: (input) => exportResultJson(String(input.query), Number(input.rows)),
  },
};

/** Picks kinds in proportion to their weights. */
export function kindPicker(mix: Readonly<Record<string, SoakKind>>, random: Random): () => string {
  const entries = Object.entries(mix).filter(([, kind]) => kind.weight > 0);
  const total = entries.reduce((sum, [, kind]) => sum + kind.weight, 0);
  return () => {
    let point = random.next() * total;
    for (const [name, kind] of entries) {
      point -= kind.weight;
      if (point < 0) return name;
    }
    return entries[entries.length - 1]?.[0] ?? "slow_api";
  };
}
