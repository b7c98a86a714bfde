import type { Command } from "commander";
import * as z from "zod";
import { JOB_STATUSES } from "../lambdas/shared/domain/job.js";
import type { CommandContext } from "./command-context.js";
import { CliError } from "./errors.js";

const Counts = z.looseObject(Object.fromEntries(JOB_STATUSES.map((status) => [status, z.number()])));
const Percentiles = z.looseObject({
  count: z.number(),
  p50: z.number().optional(),
  p90: z.number().optional(),
  p99: z.number().optional(),
  max: z.number().optional(),
});
const StatsSchema = z.looseObject({
  jobsCounted: z.number(),
  truncated: z.boolean(),
  oldestCreatedAt: z.string().optional(),
  newestCreatedAt: z.string().optional(),
  byStatus: Counts,
  byType: z.record(z.string(), Counts.extend({ total: z.number() })),
  timeQueuedMs: Percentiles,
  runTimeMs: Percentiles,
});
export type CliJobStats = z.infer<typeof StatsSchema>;

/** `jobs stats [--limit N] [--json]`: counts by status and type, time queued and run time of your recent jobs. */
export function addStatsCommand(program: Command, context: CommandContext): void {
  program
    .command("stats")
    .description("count your recent jobs by status and type, with time-queued and run-time percentiles")
    .option(
      "--limit <n>",
      "how many of your most recent jobs to count, 1 to 1000 (default 200)",
      parseStatsLimit,
    )
    .option("--json", "print job_stats's answer as JSON instead of a table")
    .action(async (options: { limit?: number; json?: boolean }, command: Command): Promise<void> => {
      await context.withClient(command, async (client) => {
        const answer = await context.call(client, "job_stats", {
          ...(options.limit !== undefined ? { limit: options.limit } : {}),
        });
        const parsed = StatsSchema.safeParse(answer);
        if (!parsed.success) throw new CliError("job_stats answered something that is not job statistics");
        context.stdout.write(
          options.json ? `${JSON.stringify(parsed.data, null, 2)}\n` : formatStats(parsed.data),
        );
      });
    });
}

function parseStatsLimit(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new CliError(`--limit takes a whole number from 1 to 1000, got "${value}"`);
  }
  return limit;
}

/** The statistics as a small table: one row of totals, one row per job type, two rows of times. */
export function formatStats(stats: CliJobStats): string {
  const columns = ["total", ...JOB_STATUSES];
  const nameWidth = Math.max(12, ...Object.keys(stats.byType).map((name) => name.length + 2));
  const row = (name: string, cells: readonly (string | number)[]): string =>
    `${name.padEnd(nameWidth)}${cells.map((cell) => String(cell).padStart(11)).join("")}\n`;
  const countsOf = (counts: Record<string, unknown>, total: number): number[] => [
    total,
    ...JOB_STATUSES.map((status) => Number(counts[status] ?? 0)),
  ];
  const span =
    stats.oldestCreatedAt !== undefined
      ? `, started ${stats.oldestCreatedAt} to ${stats.newestCreatedAt}`
      : "";
  const more = stats.truncated ? " (older jobs not counted: raise --limit)" : "";
  let text = `Your ${stats.jobsCounted} most recent jobs${span}${more}\n\n`;
  text += row("", columns);
  text += row("all", countsOf(stats.byStatus, stats.jobsCounted));
  for (const type of Object.keys(stats.byType).sort()) {
    const counts = stats.byType[type];
    if (counts !== undefined) text += row(type, countsOf(counts, counts.total ?? 0));
  }
  const ms = (value: number | undefined): string => (value === undefined ? "-" : `${Math.round(value)} ms`);
  const times = (name: string, p: z.infer<typeof Percentiles>): string =>
    row(name, [p.count, ms(p.p50), ms(p.p90), ms(p.p99), ms(p.max)]);
  text += `\n${row("", ["jobs", "p50", "p90", "p99", "max"])}`;
  text += times("time queued", stats.timeQueuedMs);
  text += times("run time", stats.runTimeMs);
  return text;
}
