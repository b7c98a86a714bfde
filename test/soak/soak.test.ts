import { describe, expect, it } from "vitest";
import { DEFAULT_FAULT_RATES, FAULT_DESCRIPTIONS, FAULT_KINDS } from "../../bench/soak-faults.js";
import { SOAK_MIX } from "../../bench/soak-mix.js";
import { formatSoakReport, runSoak } from "../../bench/soak-run.js";

describe("the short soak", () => {
  // Its own emulator pair: the soak freezes DynamoDB Local, which other test files must not feel.
  it("runs 200 jobs of every kind under every fault kind with none lost, stuck, wrong, regressed or doubled", async () => {
    const report = await runSoak({
      jobs: 200,
      seconds: 360,
      agents: 16,
      seed: 7,
      mix: SOAK_MIX,
      // Doubled so that each fault kind fires a few times in a short run.
      rates: Object.fromEntries(
        FAULT_KINDS.map((kind) => [kind, DEFAULT_FAULT_RATES[kind] * 2]),
      ) as typeof DEFAULT_FAULT_RATES,
    });
    const table = formatSoakReport(report, FAULT_DESCRIPTIONS);
    expect(report.total.jobs, table).toBe(200);
    for (const kind of Object.keys(SOAK_MIX)) {
      expect(report.rows.find((row) => row.kind === kind)?.jobs, `${kind}\n${table}`).toBeGreaterThan(0);
    }
    for (const kind of FAULT_KINDS) expect(report.faults[kind], `${kind}\n${table}`).toBeGreaterThan(0);
    expect(report.total.refused, table).toBe(0);
    expect(
      {
        lost: report.total.lost,
        stuck: report.total.stuck,
        wrong: report.total.wrong,
        regressed: report.total.regressed,
        double: report.total.double,
      },
      table,
    ).toEqual({ lost: 0, stuck: 0, wrong: 0, regressed: 0, double: 0 });
    expect(report.passed).toBe(true);
  }, 480_000);
});
