import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { machineInfo } from "./machine.js";
import { DEFAULT_FAULT_RATES, FAULT_DESCRIPTIONS, FAULT_KINDS, type FaultKind } from "./soak-faults.js";
import { SOAK_MIX } from "./soak-mix.js";
import { formatSoakReport, runSoak, soakCallPolicy } from "./soak-run.js";

// The SDK warns about Node 20 on every client; Lambda runs Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const RESULTS_FILE = fileURLToPath(new URL("./results/soak-latest.md", import.meta.url));

/** `--abandon-rate`, `--send-fail-rate`, …: one flag per fault kind. */
function rateFlag(kind: FaultKind): string {
  return `${kind.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}-rate`;
}

const USAGE = `npm run soak -- [--jobs N] [--seconds S] [--agents N] [--seed N] [--<fault>-rate R ...]

Runs N jobs of every registered kind through the local stack over MCP while faults are injected,
checks every job against its expected outcome, prints one table and writes bench/results/soak-latest.md.
Every result is read back (inline, or the stored object from the bucket) and compared with what
the job type builds for that input; external calls and terminal writes are counted per job; at the
end the table is scanned and the queues must be empty. Exits 1 when any problem counter is not 0,
the reconciliation finds a leftover, or recovery after the faults exceeds its bound
(docs/soak.md). The functions use the AWS call policy AWS_CALL_POLICY (local or deployed).

  --jobs N       jobs to run (default 2000)
  --seconds S    the whole run stops by then; jobs not ended count as stuck (default 600)
  --agents N     MCP clients starting and polling at once (default 48)
  --seed N       seed of the job mix and the faults (default 1)
  --stall-seconds S   one long freeze of DynamoDB Local with starts in flight, once half the jobs
                 are started (default 10; 0: none)
  --webhook-share R   share of jobs started with a callbackUrl to the soak's receiver (default 0.2)
${FAULT_KINDS.map((kind) => `  --${rateFlag(kind).padEnd(18)} ${FAULT_DESCRIPTIONS[kind]} (default ${DEFAULT_FAULT_RATES[kind]})`).join("\n")}
`;

function number(
  name: string,
  value: string | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || parsed > max) {
    console.error(`--${name} must be a number from 0 to ${max}; got "${value}".\n\n${USAGE}`);
    process.exit(2);
  }
  return parsed;
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        jobs: { type: "string" },
        seconds: { type: "string" },
        agents: { type: "string" },
        seed: { type: "string" },
        "stall-seconds": { type: "string" },
        "webhook-share": { type: "string" },
        help: { type: "boolean" },
        ...Object.fromEntries(FAULT_KINDS.map((kind) => [rateFlag(kind), { type: "string" as const }])),
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
})();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const rates = Object.fromEntries(
  FAULT_KINDS.map((kind) => [
    kind,
    number(
      rateFlag(kind),
      (values as Record<string, unknown>)[rateFlag(kind)] as string | undefined,
      DEFAULT_FAULT_RATES[kind],
      1,
    ),
  ]),
) as Record<FaultKind, number>;
const options = {
  jobs: Math.floor(number("jobs", values.jobs as string | undefined, 2000)),
  seconds: number("seconds", values.seconds as string | undefined, 600),
  agents: Math.max(1, Math.floor(number("agents", values.agents as string | undefined, 48))),
  seed: Math.floor(number("seed", values.seed as string | undefined, 1)),
  stallSeconds: number("stall-seconds", values["stall-seconds"] as string | undefined, 10, 120),
  webhookShare: number("webhook-share", values["webhook-share"] as string | undefined, 0.2, 1),
  rates,
  mix: SOAK_MIX,
  progress: (line: string) => console.error(line),
};

// Ctrl-C or a kill: exit through 'exit', whose handlers resume a frozen DynamoDB Local and stop it.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

console.error(`AWS call policy: ${soakCallPolicy()} (AWS_CALL_POLICY)`);
const report = await runSoak(options);
const machine = machineInfo(false);
const text = `# Soak: jobs under faults\n\n${new Date().toISOString()} · \`npm run soak -- --jobs ${options.jobs} --seconds ${options.seconds} --stall-seconds ${options.stallSeconds}\` · AWS_CALL_POLICY=${report.callPolicy} · ${JSON.stringify(machine)}\n\n${formatSoakReport(report, FAULT_DESCRIPTIONS)}`;
await mkdir(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
await writeFile(RESULTS_FILE, text);
console.log(formatSoakReport(report, FAULT_DESCRIPTIONS));
console.log(`Written to ${RESULTS_FILE}`);
process.exit(report.passed ? 0 : 1);
