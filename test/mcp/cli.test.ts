import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../local/local-stack.js";
import { freePort } from "../support/free-port.js";
import { startTestStack } from "../support/mcp-stack.js";
import { expectNothingCreated } from "../support/nothing-created.js";

/** The `jobs` CLI as a user runs it from a clone (`npm run jobs`): a real process, tsx, real MCP over HTTP. */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const JOBS = ["--import", "tsx", "bin/jobs.ts"];
const KEY = "cli-test-key-5e0d7c3b1a2f";

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const children = new Set<ChildProcess>();

/** Starts `jobs <args>`; `onStderr` sees stderr as it arrives. */
function spawnJobs(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  onStderr?: (soFar: string) => void,
): { child: ChildProcess; done: Promise<Run> } {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!("MCP_API_KEY" in env)) delete childEnv.MCP_API_KEY;
  const child = spawn(process.execPath, [...JOBS, ...args], {
    cwd: ROOT,
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    onStderr?.(stderr);
  });
  const done = new Promise<Run>((resolve) =>
    child.once("close", (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, done };
}

function jobs(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return spawnJobs(args, env).done;
}

/** An error run: exactly one line on stderr, starting `jobs: `, no stack trace, nothing on stdout. */
function expectOneLineError(run: Run, code: number, pattern: RegExp): void {
  expect(run.code, run.stderr).toBe(code);
  const lines = run.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^jobs: /);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.stdout).toBe("");
}

let stack: LocalStack;
let url: string;

beforeAll(async () => {
  stack = await startTestStack();
  url = stack.mcpUrl;
});

afterAll(async () => {
  // Only if a test failed half-way: end the CLI processes this file started.
  for (const child of children) child.kill("SIGKILL");
  await stack?.stop();
});

// Each CLI run is a fresh Node process (about 1 s of CPU): generous on a loaded machine.
describe("jobs CLI against the local stack", { timeout: 120_000 }, () => {
  it("start --wait follows a job to completion, exits 0 and prints the job with its result as JSON", async () => {
    const run = await jobs([
      "--url",
      url,
      "start",
      "slow_api",
      "--arg",
      "query=x",
      "--arg",
      "delaySeconds=2",
      "--wait",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const job = JSON.parse(run.stdout) as { status: string; result: unknown; type: string };
    expect(job.status).toBe("completed");
    expect(job.type).toBe("slow_api");
    expect(job.result).toEqual({ answer: "Slow result for: x" });
    // Progress went to stderr, one line per change, ending with the outcome.
    expect(run.stderr).toMatch(/^Started job [0-9a-f-]{36} \(slow_api\)/);
    expect(run.stderr.trimEnd().split("\n").at(-1)).toMatch(/^completed 2\/2 100%/);
  });

  it("takes the start_ prefix too, and types --arg values by the tool's schema (query=123 stays a string)", async () => {
    const run = await jobs([
      "--url",
      url,
      "start",
      "start_slow_api",
      "--json",
      '{"delaySeconds":5}',
      "--arg",
      "query=123",
      "--arg",
      "delaySeconds=0",
      "--wait",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { result: unknown }).result).toEqual({
      answer: "Slow result for: 123",
    });
  });

  it("a job that fails exits 1 and prints the job with its error", async () => {
    const run = await jobs([
      "--url",
      url,
      "start",
      "failing_api",
      "--arg",
      "query=x",
      "--arg",
      "delaySeconds=0",
      "--wait",
    ]);
    expect(run.code, run.stderr).toBe(1);
    const job = JSON.parse(run.stdout) as { status: string; error: { message: string; retryable: boolean } };
    expect(job.status).toBe("failed");
    expect(job.error).toMatchObject({
      message: "424 Failed Dependency: external service unavailable",
      retryable: false,
    });
    expect(run.stderr).toContain("failed · external_api_failed_dependency: 424 Failed Dependency");
  });

  it("a job cancelled while waited on exits 2; jobs cancel itself exits 0 with the cancelled job", async () => {
    let announced: (jobId: string) => void = () => undefined;
    const jobId = new Promise<string>((resolve) => {
      announced = resolve;
    });
    const waiting = spawnJobs(
      ["--url", url, "start", "slow_api", "--arg", "query=x", "--arg", "delaySeconds=120", "--wait"],
      {},
      (soFar) => {
        const match = /Started job ([0-9a-f-]{36})/.exec(soFar);
        if (match?.[1]) announced(match[1]);
      },
    );
    const id = await jobId;
    const cancel = await jobs(["--url", url, "cancel", id]);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(JSON.parse(cancel.stdout)).toMatchObject({ jobId: id, status: "cancelled" });

    const waited = await waiting.done;
    expect(waited.code, waited.stderr).toBe(2);
    expect(JSON.parse(waited.stdout)).toMatchObject({ jobId: id, status: "cancelled" });

    // Cancelling a job that has ended leaves it as it is and says so.
    const again = await jobs(["--url", url, "cancel", id]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: "cancelled" });
  });

  it("Ctrl-C while waiting exits 130 with one line, and the job goes on", async () => {
    let running: () => void = () => undefined;
    const seen = new Promise<void>((resolve) => {
      running = resolve;
    });
    const waiting = spawnJobs(
      ["--url", url, "start", "slow_api", "--arg", "query=x", "--arg", "delaySeconds=120", "--wait"],
      {},
      (soFar) => {
        if (/\nrunning /.test(soFar)) running();
      },
    );
    await seen;
    waiting.child.kill("SIGINT");
    const run = await waiting.done;
    expect(run.code, run.stderr).toBe(130);
    const id = /Started job ([0-9a-f-]{36})/.exec(run.stderr)?.[1] ?? "";
    const last = run.stderr.trimEnd().split("\n").at(-1);
    expect(last).toBe(
      `jobs: stopped watching; job ${id} goes on (jobs get ${id} --watch, or jobs cancel ${id})`,
    );
    expect(run.stdout).toBe("");
    const after = await jobs(["--url", url, "cancel", id]);
    expect(after.code, after.stderr).toBe(0);
    // It was still running when cancelled: Ctrl-C stopped only the watching.
    expect(JSON.parse(after.stdout)).toMatchObject({ jobId: id, status: "cancelled" });
  });

  it("get --watch without a terminal prints one progress line per change, moving forward", async () => {
    // A long job, so the watch sees it running however slowly the CLI process starts on a busy machine.
    const started = await jobs([
      "--url",
      url,
      "start",
      "slow_api",
      "--arg",
      "query=watch",
      "--arg",
      "delaySeconds=60",
    ]);
    expect(started.code, started.stderr).toBe(0);
    const { jobId, status } = JSON.parse(started.stdout) as { jobId: string; status: string };
    expect(status).toBe("queued");

    const readings = (stderr: string): number[] =>
      stderr.split("\n").flatMap((line) => {
        const match = /^running (\d+)\/60 /.exec(line);
        return match ? [Number(match[1])] : [];
      });
    let moved: () => void = () => undefined;
    const threeReadings = new Promise<void>((resolve) => {
      moved = resolve;
    });
    const watching = spawnJobs(["--url", url, "get", jobId, "--watch"], {}, (soFar) => {
      if (new Set(readings(soFar)).size >= 3) moved();
    });
    await threeReadings;
    // Ending the job ends the watch, with the job's own exit code.
    expect((await jobs(["--url", url, "cancel", jobId])).code).toBe(0);
    const run = await watching.done;

    expect(run.code, run.stderr).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ jobId, status: "cancelled" });
    const lines = run.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe(`Watching job ${jobId} (slow_api); Ctrl-C stops watching, the job goes on.`);
    const counts = readings(run.stderr);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    // One line per change: no line repeats the one before it.
    expect(lines.filter((line, index) => line === lines[index - 1])).toEqual([]);
    for (const line of lines.slice(1).filter((line) => line.startsWith("running"))) {
      // The first reading may come before the first second has passed.
      expect(line).toMatch(/^running \d+\/60 \d+% · (Waited \d+ s|Calling the slow API) · elapsed \d+s$/);
    }
    expect(lines.at(-1)).toMatch(/^cancelled \d+\/60 \d+% · /);
  });

  it("list and get print the tools' JSON; tools lists the job types with their arguments", async () => {
    const list = await jobs(["--url", url, "list", "--status", "completed", "--limit", "1"]);
    expect(list.code, list.stderr).toBe(0);
    const page = JSON.parse(list.stdout) as { jobs: Array<{ status: string; jobId: string }> };
    expect(page.jobs).toHaveLength(1);
    expect(page.jobs[0]?.status).toBe("completed");

    const get = await jobs(["--url", url, "get", page.jobs[0]?.jobId ?? ""]);
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({ jobId: page.jobs[0]?.jobId, status: "completed" });

    const tools = await jobs(["--url", url, "tools"]);
    expect(tools.code, tools.stderr).toBe(0);
    expect(tools.stdout).toContain(
      "start_slow_api\n  arguments: query (string, required), delaySeconds (integer), idempotencyKey (string), waitSeconds (integer), callbackUrl (string)\n",
    );
  });

  it("bad --arg syntax, an unknown argument, an unknown type and a bad --json exit 3 and create nothing", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--arg", "query"], /^jobs: --arg takes key=value, got "query"$/],
      [["--arg", "qeury=x"], /^jobs: start_slow_api has no argument "qeury" \(its arguments: query, /],
      [
        ["--arg", "query=x", "--arg", "delaySeconds=soon"],
        /^jobs: --arg delaySeconds=soon: delaySeconds takes a number$/,
      ],
      [["--json", "{query"], /^jobs: --json is not valid JSON/],
    ];
    // One process per case, side by side: each exits 3 with its own line, and none of them created anything.
    const runs = await expectNothingCreated(stack, () =>
      Promise.all([
        ...cases.map(([extra]) => jobs(["--url", url, "start", "slow_api", ...extra, "--wait"])),
        jobs(["--url", url, "start", "nope_api"]),
      ]),
    );
    cases.forEach(([, pattern], index) => {
      expectOneLineError(runs[index] as Run, 3, pattern);
    });
    expectOneLineError(
      runs[cases.length] as Run,
      3,
      /^jobs: no job type "nope_api" here; job types: slow_api, failing_api, /,
    );
  });

  it("a tool error (argument out of range, unknown job id) exits 3 with the server's message", async () => {
    const outOfRange = await expectNothingCreated(stack, () =>
      jobs(["--url", url, "start", "slow_api", "--arg", "query=x", "--arg", "delaySeconds=9999"]),
    );
    expectOneLineError(outOfRange, 3, /^jobs: start_slow_api: .*delaySeconds/);

    const unknown = await jobs(["--url", url, "get", "8f4c0e3e-2d0e-4a43-9a4d-0123456789ab", "--watch"]);
    expectOneLineError(
      unknown,
      3,
      /^jobs: get_job: Job 8f4c0e3e-2d0e-4a43-9a4d-0123456789ab was not found or has expired\.$/,
    );
  });

  it("usage errors from the command line exit 3 with one line", async () => {
    const [bogus, status, notUrl, help] = await Promise.all([
      jobs(["--url", url, "bogus"]),
      jobs(["--url", url, "list", "--status", "done"]),
      jobs(["--url", "not a url", "tools"]),
      jobs(["--help"]),
    ]);
    expectOneLineError(bogus, 3, /^jobs: unknown command 'bogus'/);
    expectOneLineError(status, 3, /argument 'done' is invalid/);
    expectOneLineError(notUrl, 3, /^jobs: --url "not a url" is not a URL/);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Exit codes: 0 completed");
  });

  it("a URL where nothing listens exits 3 with one clear line", async () => {
    const port = await freePort();
    const run = await jobs(["--url", `http://127.0.0.1:${port}/mcp`, "tools"]);
    expectOneLineError(
      run,
      3,
      new RegExp(
        `^jobs: Cannot reach http://127\\.0\\.0\\.1:${port}/mcp \\(ECONNREFUSED\\)\\. Is the server running`,
      ),
    );
  });

  it("on a terminal draws a live bar on the same line, then prints the job", async () => {
    // `script` gives the CLI a pseudo-terminal; -e passes the CLI's exit code on.
    const command = [
      process.execPath,
      ...JOBS,
      "--url",
      url,
      "start",
      "slow_api",
      "--arg",
      "query=tty",
      "--arg",
      "delaySeconds=2",
      "--wait",
    ].join(" ");
    const child = spawn("script", ["-q", "-e", "-c", command, "/dev/null"], {
      cwd: ROOT,
      env: { ...process.env, COLUMNS: "160" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    children.delete(child);
    expect(code, output).toBe(0);
    // Redrawn in place: several frames on one line (ESC[1G goes back to column 1), the last one full.
    const frames = output.split("\u001b[1G").slice(1);
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.at(-1)).toMatch(/^█{24} completed 2\/2 100% · Waited 2 s · elapsed \d+s/);
    expect(output).toContain('"answer": "Slow result for: tty"');
  });
});

describe("jobs CLI against a stack that requires an API key", { timeout: 120_000 }, () => {
  let keyed: LocalStack;

  beforeAll(async () => {
    keyed = await startTestStack({ env: { AUTH_MODE: "api-key", API_KEYS: `cli:${KEY}` } });
  });

  afterAll(async () => {
    await keyed?.stop();
  });

  it("without a key exits 3 with one line naming the 401 and how to pass a key", async () => {
    const run = await jobs(["--url", keyed.mcpUrl, "tools"]);
    expectOneLineError(run, 3, /401 Unauthorized: pass an API key with --key or MCP_API_KEY/);
    const wrong = await jobs(["--url", keyed.mcpUrl, "--key", "not-the-key-0123456789", "tools"]);
    expectOneLineError(wrong, 3, /401 Unauthorized/);
  });

  it("takes the key from --key or from MCP_API_KEY", async () => {
    const flag = await jobs([
      "--url",
      keyed.mcpUrl,
      "--key",
      KEY,
      "start",
      "slow_api",
      "--arg",
      "query=k",
      "--arg",
      "delaySeconds=0",
      "--wait",
    ]);
    expect(flag.code, flag.stderr).toBe(0);
    expect(JSON.parse(flag.stdout)).toMatchObject({
      status: "completed",
      result: { answer: "Slow result for: k" },
    });
    const env = await jobs(["--url", keyed.mcpUrl, "list"], { MCP_API_KEY: KEY });
    expect(env.code, env.stderr).toBe(0);
    expect((JSON.parse(env.stdout) as { jobs: unknown[] }).jobs).toHaveLength(1);
  });
});
