import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { callForJob, callTool, connectClient } from "../cli/mcp-client.js";
import type { JobView } from "../lambdas/shared/domain/job.js";
import { closeClients, isDone } from "./mcp-client.js";
import { sleep } from "./pool.js";
import { median, since } from "./stats.js";

/** The reference write-up's figures: total agent response time, LLM turns included. */
export const REFERENCE = {
  fast: { label: "Fast API (1 s)", seconds: 3.2 },
  slow: { label: "Slow API (15 s), agent waits", seconds: 17.8 },
  failing: { label: "Failing API (424 after 7 s)", seconds: 7.7 },
  async: { label: "Async handle pattern", seconds: 3.7 },
} as const;

type ReferenceKey = keyof typeof REFERENCE;

/** The tool timeout of the OpenAI Agents SDK by default: an answer later than this is an error there. */
export const AGENT_SDK_TOOL_TIMEOUT_MS = 5_000;

const POLL_EVERY_MS = 10_000;
const MAX_CALLS_PER_JOB = 12;
const STAGGER_MS = 400;
const WARMUP_ROUNDS = 5;

interface Sample {
  /** createdAt → startedAt of the job (async rows only). */
  readonly queueWaitMs?: number;
  readonly firstAnswerMs: number;
  readonly resultMs: number;
  readonly toolCalls: number;
  readonly outcome: string;
}

interface Scenario {
  readonly id: string;
  readonly label: string;
  readonly reference?: ReferenceKey;
  readonly pattern: "blocking" | "async";
  readonly apiSeconds: number;
  readonly how: string;
  run(clients: { blocking: Client; async: Client }): Promise<Sample>;
}

export interface ScenarioRow {
  readonly id: string;
  readonly label: string;
  readonly pattern: "blocking" | "async";
  readonly how: string;
  readonly apiSeconds: number;
  readonly referenceLabel?: string;
  readonly referenceSeconds?: number;
  readonly samples: number;
  /** Medians over the samples, in seconds. */
  readonly firstAnswerSeconds: number;
  readonly resultSeconds: number;
  readonly toolCalls: number;
  /** Median time the async job spent queued before a worker took it, in seconds. */
  readonly queueWaitSeconds?: number;
  readonly outcomes: readonly string[];
  /** Whether the first answer came within the OpenAI Agents SDK's default 5 s tool timeout. */
  readonly firstAnswerWithin5s: boolean;
}

const SCENARIOS: readonly Scenario[] = [
  {
    id: "fast-blocking",
    label: "Fast API (1 s), blocking tool",
    reference: "fast",
    pattern: "blocking",
    apiSeconds: 1,
    how: "one call that runs the API inline",
    run: ({ blocking }) => blockingCall(blocking, "slow_api", { query: "bench", delaySeconds: 1 }),
  },
  {
    id: "slow-blocking",
    label: "Slow API (15 s), blocking tool",
    reference: "slow",
    pattern: "blocking",
    apiSeconds: 15,
    how: "one call that runs the API inline",
    run: ({ blocking }) => blockingCall(blocking, "slow_api", { query: "bench", delaySeconds: 15 }),
  },
  {
    id: "failing-blocking",
    label: "Failing API (424 after 7 s), blocking tool",
    reference: "failing",
    pattern: "blocking",
    apiSeconds: 7,
    how: "one call that runs the API inline",
    run: ({ blocking }) => blockingCall(blocking, "failing_api", { query: "bench", delaySeconds: 7 }),
  },
  {
    id: "slow-async-wait",
    label: "Slow API (15 s), async handle, get_job waitSeconds",
    reference: "async",
    pattern: "async",
    apiSeconds: 15,
    how: "start_slow_api, then get_job {waitSeconds: 25} until it ends",
    run: ({ async }) => startThenWait(async, "start_slow_api", { query: "bench", delaySeconds: 15 }),
  },
  {
    id: "slow-async-poll10",
    label: "Slow API (15 s), async handle, polling every 10 s",
    reference: "async",
    pattern: "async",
    apiSeconds: 15,
    how: "start_slow_api, then get_job every 10 s until it ends",
    run: ({ async }) => startThenPoll(async, "start_slow_api", { query: "bench", delaySeconds: 15 }),
  },
  {
    id: "fast-async-startwait",
    label: "Fast API (1 s), async handle, start with waitSeconds",
    pattern: "async",
    apiSeconds: 1,
    how: "start_slow_api {waitSeconds: 5}: the outcome comes in the same call",
    run: ({ async }) =>
      startThenWait(async, "start_slow_api", { query: "bench", delaySeconds: 1, waitSeconds: 5 }),
  },
  {
    id: "failing-async-wait",
    label: "Failing API (424 after 7 s), async handle, get_job waitSeconds",
    pattern: "async",
    apiSeconds: 7,
    how: "start_failing_api, then get_job {waitSeconds: 25} until it ends",
    run: ({ async }) => startThenWait(async, "start_failing_api", { query: "bench", delaySeconds: 7 }),
  },
];

/**
 * The reference comparison: each scenario `repeats` times, each sample on its own pair of clients,
 * connected before its clock starts. Samples overlap (they mostly wait on timers) but start
 * `STAGGER_MS` apart, so no two first calls collide on the two cores.
 */
export async function runScenarios(
  urls: { blocking: string; async: string },
  repeats: number,
): Promise<ScenarioRow[]> {
  await warmUp(urls);
  const plan = Array.from({ length: repeats }, () => SCENARIOS).flat();
  const done = await Promise.all(
    plan.map(async (scenario, index): Promise<{ id: string; sample: Sample }> => {
      await sleep(index * STAGGER_MS);
      const clients = {
        blocking: await connectClient(urls.blocking),
        async: await connectClient(urls.async),
      };
      try {
        return { id: scenario.id, sample: await scenario.run(clients) };
      } finally {
        await closeClients([clients.blocking, clients.async]);
      }
    }),
  );
  return SCENARIOS.map((scenario) =>
    toRow(
      scenario,
      done.filter((d) => d.id === scenario.id).map((d) => d.sample),
    ),
  );
}

/** A warm endpoint, as an agent meets it mid-conversation: JIT, connections and the worker path run once. */
async function warmUp(urls: { blocking: string; async: string }): Promise<void> {
  const blocking = await connectClient(urls.blocking);
  const async = await connectClient(urls.async);
  try {
    for (let round = 0; round < WARMUP_ROUNDS; round++) {
      await callTool(blocking, "slow_api", { query: "warm-up", delaySeconds: 0 });
      await startThenWait(async, "start_slow_api", { query: "warm-up", delaySeconds: 0, waitSeconds: 5 });
    }
  } finally {
    await closeClients([blocking, async]);
  }
}

function toRow(scenario: Scenario, samples: readonly Sample[]): ScenarioRow {
  const seconds = (values: number[]): number => Number((median(values) / 1000).toFixed(2));
  const firstAnswerMs = median(samples.map((s) => s.firstAnswerMs));
  const reference = scenario.reference ? REFERENCE[scenario.reference] : undefined;
  const queueWaits = samples.flatMap((s) => (s.queueWaitMs === undefined ? [] : [s.queueWaitMs]));
  return {
    id: scenario.id,
    label: scenario.label,
    pattern: scenario.pattern,
    how: scenario.how,
    apiSeconds: scenario.apiSeconds,
    ...(reference ? { referenceLabel: reference.label, referenceSeconds: reference.seconds } : {}),
    samples: samples.length,
    firstAnswerSeconds: seconds(samples.map((s) => s.firstAnswerMs)),
    resultSeconds: seconds(samples.map((s) => s.resultMs)),
    toolCalls: median(samples.map((s) => s.toolCalls)),
    ...(queueWaits.length > 0 ? { queueWaitSeconds: seconds(queueWaits) } : {}),
    outcomes: [...new Set(samples.map((s) => s.outcome))],
    firstAnswerWithin5s: firstAnswerMs < AGENT_SDK_TOOL_TIMEOUT_MS,
  };
}

async function blockingCall(client: Client, tool: string, args: Record<string, unknown>): Promise<Sample> {
  const started = performance.now();
  const answer = await callTool(client, tool, args);
  const elapsed = since(started);
  const outcome = answer.isError ? `tool error: ${answer.text}` : "result";
  return { firstAnswerMs: elapsed, resultMs: elapsed, toolCalls: 1, outcome };
}

async function startThenWait(client: Client, tool: string, args: Record<string, unknown>): Promise<Sample> {
  const started = performance.now();
  let job = await callForJob(client, tool, args);
  const firstAnswerMs = since(started);
  let toolCalls = 1;
  while (!isDone(job) && toolCalls < MAX_CALLS_PER_JOB) {
    job = await callForJob(client, "get_job", { jobId: job.jobId, waitSeconds: 25 });
    toolCalls++;
  }
  return { firstAnswerMs, resultMs: since(started), toolCalls, outcome: outcomeOf(job), ...queueWaitOf(job) };
}

async function startThenPoll(client: Client, tool: string, args: Record<string, unknown>): Promise<Sample> {
  const started = performance.now();
  let job = await callForJob(client, tool, args);
  const firstAnswerMs = since(started);
  let toolCalls = 1;
  while (!isDone(job) && toolCalls < MAX_CALLS_PER_JOB) {
    // A fixed schedule from the start call, as an agent told "poll every 10 s" would keep.
    await sleep(started + toolCalls * POLL_EVERY_MS - performance.now());
    job = await callForJob(client, "get_job", { jobId: job.jobId });
    toolCalls++;
  }
  return { firstAnswerMs, resultMs: since(started), toolCalls, outcome: outcomeOf(job), ...queueWaitOf(job) };
}

function queueWaitOf(job: JobView): { queueWaitMs?: number } {
  return job.startedAt === undefined
    ? {}
    : { queueWaitMs: Date.parse(job.startedAt) - Date.parse(job.createdAt) };
}

function outcomeOf(job: JobView): string {
  return job.error ? `${job.status}: ${job.error.message}` : job.status;
}
