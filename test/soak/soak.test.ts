import { describe, expect, it } from "vitest";
import { DEFAULT_FAULT_RATES, FAULT_DESCRIPTIONS, FAULT_KINDS } from "../../bench/soak-faults.js";
import { SOAK_MIX } from "../../bench/soak-mix.js";
import {
  formatSoakReport,
  PROBLEM_COUNTS,
  RECOVERY_BOUND_SECONDS,
  runSoak,
  type SoakReport,
} from "../../bench/soak-run.js";

const PROBLEMS = PROBLEM_COUNTS;

function problems(report: SoakReport): Record<string, number> {
  return Object.fromEntries(PROBLEMS.map((key) => [key, report.total[key]]));
}

describe("the short soak", () => {
  // Its own emulator pair: the soak freezes DynamoDB Local, which other test files must not feel.
  it("runs 140 jobs of every kind under every fault kind and a stall, and the table, queues, bucket and webhooks reconcile", async () => {
    const report = await runSoak({
      jobs: 140,
      seconds: 300,
      agents: 16,
      seed: 7,
      mix: SOAK_MIX,
      stallSeconds: 5,
      webhookShare: 0.25,
      // Doubled so that each fault kind fires a few times in a short run.
      rates: Object.fromEntries(
        FAULT_KINDS.map((kind) => [kind, DEFAULT_FAULT_RATES[kind] * 2]),
      ) as typeof DEFAULT_FAULT_RATES,
    });
    const table = formatSoakReport(report, FAULT_DESCRIPTIONS);
    expect(report.total.jobs, table).toBe(140);
    for (const kind of Object.keys(SOAK_MIX)) {
      expect(report.rows.find((row) => row.kind === kind)?.jobs, `${kind}\n${table}`).toBeGreaterThan(0);
    }
    for (const kind of FAULT_KINDS) expect(report.faults[kind], `${kind}\n${table}`).toBeGreaterThan(0);
    expect(report.total.refused, table).toBe(0);
    expect(problems(report), table).toEqual(Object.fromEntries(PROBLEMS.map((key) => [key, 0])));

    // The observers saw the work: every row was ended by one observed terminal write, stored
    // results were read from the bucket, and the external side was called.
    const r = report.reconciliation;
    expect(report.terminalWrites + report.landedUnseen, table).toBe(r.rows);
    expect(r.rows, table).toBe(140);
    expect(r.objectsRead, table).toBeGreaterThan(0);
    expect(report.external.runs + report.external.submits, table).toBeGreaterThanOrEqual(
      report.total.completed,
    );
    expect(report.external.submits, table).toBeGreaterThan(0);
    expect(
      { untracked: r.untracked, open: r.open, quietWrites: r.quietWrites, queues: r.queues },
      table,
    ).toEqual({
      untracked: 0,
      open: [],
      quietWrites: 0,
      queues: { jobs: 0, "jobs-dlq": 0, notifications: 0, "notifications-dlq": 0 },
    });

    expect(report.recovery.stall?.startsInFlight, table).toBeGreaterThanOrEqual(4);
    expect(report.recovery.longestSeconds, table).toBeLessThanOrEqual(RECOVERY_BOUND_SECONDS);
    expect(report.recovery.openAfter, table).toBe(0);

    // MCP Events: the soak's one subscription heard of every ended job, under one eventId each
    // (the eventMissing and eventDouble counters above), and nothing it heard was wrong.
    expect(report.events.challenges, table).toBeGreaterThanOrEqual(1);
    expect(report.events.bad, table).toBe(0);
    expect(report.events.accepted, table).toBeGreaterThanOrEqual(
      report.total.completed + report.total.failed + report.total.cancelled,
    );

    expect(report.webhooks.jobs, table).toBeGreaterThan(0);
    expect(report.webhooks.bad, table).toBe(0);
    expect(report.webhooks.accepted, table).toBeGreaterThanOrEqual(report.webhooks.jobs);
    expect(report.passed, table).toBe(true);
  }, 480_000);
});
