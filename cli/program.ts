import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Command, CommanderError, Option } from "commander";
import { JOB_STATUSES } from "../lambdas/shared/domain/job.js";
import { DEFAULT_URL, describeFailure, openClient } from "./connection.js";
import { barDisplay, type JobDisplay, lineDisplay } from "./display.js";
import { CliError, EXIT, type ExitCode } from "./errors.js";
import { type CliJob, CliJobSchema, JobListSchema } from "./job.js";
import { callTool } from "./mcp-client.js";
import { buildToolArguments, type ToolDescription } from "./tool-args.js";
import { watchJob } from "./watch.js";

/** Where the CLI reads and writes: the process's streams in `bin/jobs.ts`, the same in tests. */
export interface CliIo {
  /** Results: JSON (or the tool list) only, so `| jq` works. */
  readonly stdout: NodeJS.WritableStream;
  /** Progress, notes and errors; the live bar is drawn here when it is a terminal. */
  readonly stderr: NodeJS.WriteStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted on Ctrl-C: stop watching, leave the job running. */
  readonly signal?: AbortSignal;
}

interface GlobalOptions {
  readonly url: string;
  readonly key?: string;
}

const START_PREFIX = "start_";

/** Runs `jobs <command> …` (argv as `process.argv`: node, script, then the arguments) and returns the exit code. */
export async function runJobsCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: ExitCode = EXIT.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its own one-line message (or the help, which exits 0).
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const failure = error instanceof CliError ? error : describeFailure(error, "the MCP endpoint");
    io.stderr.write(`jobs: ${failure.message}\n`);
    return failure.exitCode;
  }
}

function buildProgram(io: CliIo, exitWith: (code: ExitCode) => void): Command {
  const program = new Command("jobs")
    .description("Start, watch, list and cancel the asynchronous jobs of an MCP server (mcp-async-jobs).")
    .option("--url <url>", "the MCP endpoint", DEFAULT_URL)
    .option("--key <key>", "API key, sent as a bearer token (default: $MCP_API_KEY)")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Every error line starts the same way, Commander's usage errors included.
      outputError: (text, write) => write(text.replace(/^error: /, "jobs: ")),
    })
    .showSuggestionAfterError()
    .addHelpText(
      "after",
      "\nExit codes: 0 completed (or the command succeeded), 1 failed, 2 cancelled,\n3 usage, tool or connection error (401 included), 130 stopped watching with Ctrl-C.",
    );

  /** Opens a client for one command and closes it whatever happens. */
  const withClient = async <T>(command: Command, run: (client: Client) => Promise<T>): Promise<T> => {
    const options = command.optsWithGlobals<GlobalOptions>();
    const url = options.url;
    const client = await openClient(url, options.key ?? (io.env.MCP_API_KEY || undefined));
    try {
      return await run(client);
    } catch (error) {
      throw describeFailure(error, url);
    } finally {
      await client.close().catch(() => undefined);
    }
  };

  const print = (value: unknown): void => {
    io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  };

  const follow = async (client: Client, job: CliJob, verb: string): Promise<void> => {
    io.stderr.write(`${verb} job ${job.jobId} (${job.type}); Ctrl-C stops watching, the job goes on.\n`);
    const display: JobDisplay = io.stderr.isTTY
      ? barDisplay(io.stderr)
      : lineDisplay((line) => io.stderr.write(line));
    let final: CliJob;
    try {
      final = await watchJob(
        job,
        (jobId, waitSeconds) => callForCliJob(client, "get_job", { jobId, waitSeconds }, io.signal),
        display,
        io.signal,
      );
    } catch (error) {
      if (io.signal?.aborted) {
        throw new CliError(
          `stopped watching; job ${job.jobId} goes on (jobs get ${job.jobId} --watch, or jobs cancel ${job.jobId})`,
          EXIT.interrupted,
        );
      }
      throw error;
    }
    print(final);
    exitWith(
      final.status === "failed" ? EXIT.failed : final.status === "cancelled" ? EXIT.cancelled : EXIT.ok,
    );
  };

  program
    .command("tools")
    .description("list the server's tools and their arguments")
    .action(async (_options: object, command: Command) => {
      await withClient(command, async (client) => {
        for (const tool of await listTools(client)) io.stdout.write(describeTool(tool));
      });
    });

  program
    .command("start")
    .description("start a job of a type (slow_api or start_slow_api); --wait follows it to its end")
    .argument("<type>", "the job type, as in start_<type> (see jobs tools)")
    .option("--arg <key=value>", "a tool argument, typed by the tool's schema (repeatable)", collect, [])
    .option("--json <object>", "tool arguments as one JSON object; --arg values override its keys")
    .option("--wait", "follow the job to its end, then exit 0 completed, 1 failed, 2 cancelled")
    .action(
      async (
        type: string,
        options: { arg: string[]; json?: string; wait?: boolean },
        command: Command,
      ): Promise<void> => {
        await withClient(command, async (client) => {
          const tools = await listTools(client);
          const name = `${START_PREFIX}${type.startsWith(START_PREFIX) ? type.slice(START_PREFIX.length) : type}`;
          const tool = tools.find((candidate) => candidate.name === name);
          if (!tool) {
            const types = tools
              .filter((candidate) => candidate.name.startsWith(START_PREFIX))
              .map((candidate) => candidate.name.slice(START_PREFIX.length));
            throw new CliError(`no job type "${type}" here; job types: ${types.join(", ") || "none"}`);
          }
          const args = buildToolArguments(tool, options.arg, options.json);
          const job = await callForCliJob(client, name, args, io.signal);
          if (options.wait) await follow(client, job, "Started");
          else print(job);
        });
      },
    );

  program
    .command("get")
    .description("show a job; --watch follows it to its end")
    .argument("<jobId>", "the jobId jobs start printed")
    .option("--watch", "follow the job to its end, then exit 0 completed, 1 failed, 2 cancelled")
    .action(async (jobId: string, options: { watch?: boolean }, command: Command): Promise<void> => {
      await withClient(command, async (client) => {
        const job = await callForCliJob(client, "get_job", { jobId }, io.signal);
        if (options.watch) await follow(client, job, "Watching");
        else print(job);
      });
    });

  program
    .command("list")
    .description("list your jobs, newest first (JSON: { jobs, nextCursor? })")
    .addOption(new Option("--status <status>", "only jobs with this status").choices(JOB_STATUSES))
    .option("--limit <n>", "jobs per page, 1 to 100", parseLimit)
    .option("--cursor <cursor>", "the nextCursor of the previous page")
    .action(
      async (
        options: { status?: string; limit?: number; cursor?: string },
        command: Command,
      ): Promise<void> => {
        await withClient(command, async (client) => {
          const answer = await callOrFail(client, "list_jobs", { ...options }, io.signal);
          print(JobListSchema.parse(answer));
        });
      },
    );

  program
    .command("cancel")
    .description("cancel a queued or running job (a job that has ended stays as it is)")
    .argument("<jobId>", "the jobId jobs start printed")
    .action(async (jobId: string, _options: object, command: Command): Promise<void> => {
      await withClient(command, async (client) => {
        const job = await callForCliJob(client, "cancel_job", { jobId }, io.signal);
        if (job.status !== "cancelled") {
          io.stderr.write(`Job ${job.jobId} had already ended (${job.status}); it stays as it is.\n`);
        }
        print(job);
      });
    });

  return program;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new CliError(`--limit takes a whole number from 1 to 100, got "${value}"`);
  }
  return limit;
}

async function listTools(client: Client): Promise<ToolDescription[]> {
  const tools: ToolDescription[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

/** `start_slow_api  query (string, required), delaySeconds (integer)` and the description's first sentence. */
function describeTool(tool: ToolDescription): string {
  const required = new Set(tool.inputSchema.required ?? []);
  const args = Object.entries(tool.inputSchema.properties ?? {}).map(([key, schema]) => {
    const type = (schema as { type?: unknown }).type;
    const shown = typeof type === "string" ? type : Array.isArray(type) ? type.join("|") : "any";
    return `${key} (${shown}${required.has(key) ? ", required" : ""})`;
  });
  const summary = /^.*?[.!?](\s|$)/.exec(tool.description ?? "")?.[0].trim() ?? tool.description ?? "";
  return `${tool.name}\n  arguments: ${args.join(", ") || "none"}\n  ${summary}\n`;
}

/** Calls a tool; a tool error (unknown job id, bad argument) becomes a one-line CLI error, exit 3. */
async function callOrFail(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  signal: AbortSignal | undefined,
): Promise<Record<string, unknown>> {
  const answer = await callTool(client, name, args, signal);
  if (answer.isError) throw new CliError(`${name}: ${answer.text.replace(/\s+/g, " ").trim()}`);
  if (answer.structured === undefined) throw new CliError(`${name} answered no structured content`);
  return answer.structured;
}

async function callForCliJob(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  signal: AbortSignal | undefined,
): Promise<CliJob> {
  const parsed = CliJobSchema.safeParse(await callOrFail(client, name, args, signal));
  if (!parsed.success) throw new CliError(`${name} answered something that is not a job`);
  return parsed.data;
}
