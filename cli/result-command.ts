import { createHash } from "node:crypto";
import { rename, rm, writeFile } from "node:fs/promises";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Command } from "commander";
import * as z from "zod";
import type { CommandContext } from "./command-context.js";
import { CliError, EXIT } from "./errors.js";
import { CliJobSchema } from "./job.js";

const ResultPageSchema = z.looseObject({
  offset: z.number(),
  nextOffset: z.number().optional(),
  totalBytes: z.number(),
  text: z.string(),
});

/** More pages than any result may have (100 MB in pages of at least 1 byte would be more; ours are ~16 KB). */
const MAX_PAGES = 20_000;

/**
 * `jobs result <jobId> [-o FILE]`: a completed job's whole result JSON, read page by page with
 * read_job_result and checked against the job's resultSha256 before anything is written.
 */
export function addResultCommand(program: Command, context: CommandContext): void {
  program
    .command("result")
    .description(
      "write a completed job's whole result JSON (a stored one is read in pages and checked against its SHA-256)",
    )
    .argument("<jobId>", "the jobId jobs start printed")
    .option("-o, --output <file>", "write to this file instead of stdout")
    .action(async (jobId: string, options: { output?: string }, command: Command): Promise<void> => {
      await context.withClient(command, async (client) => {
        const job = CliJobSchema.parse(await context.call(client, "get_job", { jobId }));
        if (job.status !== "completed") {
          const code =
            job.status === "failed" ? EXIT.failed : job.status === "cancelled" ? EXIT.cancelled : EXIT.usage;
          const next = code === EXIT.usage ? ` (jobs get ${jobId} --watch follows it)` : "";
          throw new CliError(`job ${jobId} is ${job.status}: it has no result${next}`, code);
        }
        const text = await readWholeResult(context, client, jobId);
        const bytes = Buffer.from(text, "utf8");
        const digest = createHash("sha256").update(bytes).digest("hex");
        if (job.resultSha256 !== undefined && digest !== job.resultSha256) {
          throw new CliError(
            `the result read for job ${jobId} does not match its resultSha256 (expected ${job.resultSha256}, read ${digest}); nothing was written`,
          );
        }
        const checked = job.resultSha256 !== undefined ? ", SHA-256 checked" : "";
        if (options.output === undefined) {
          context.stdout.write(bytes);
          return;
        }
        // Written whole or not at all: a reader never sees half a result under the name.
        const partial = `${options.output}.partial-${process.pid}`;
        try {
          await writeFile(partial, bytes);
          await rename(partial, options.output);
        } catch (error) {
          await rm(partial, { force: true });
          throw new CliError(
            `could not write ${options.output}: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        context.stderr.write(`Wrote ${bytes.length} bytes to ${options.output}${checked}.\n`);
      });
    });
}

async function readWholeResult(context: CommandContext, client: Client, jobId: string): Promise<string> {
  const texts: string[] = [];
  let offset: number | undefined = 0;
  let totalBytes = 0;
  for (let pages = 0; offset !== undefined; pages++) {
    if (pages >= MAX_PAGES) throw new CliError(`read_job_result did not end after ${MAX_PAGES} pages`);
    const parsed = ResultPageSchema.safeParse(
      await context.call(client, "read_job_result", { jobId, offset }),
    );
    if (!parsed.success) throw new CliError("read_job_result answered something that is not a page");
    const page = parsed.data;
    if (page.offset !== offset)
      throw new CliError(`read_job_result answered offset ${page.offset}, not ${offset}`);
    texts.push(page.text);
    totalBytes = page.totalBytes;
    if (page.nextOffset !== undefined && page.nextOffset <= offset)
      throw new CliError("read_job_result's nextOffset did not move on");
    offset = page.nextOffset;
  }
  const text = texts.join("");
  const read = Buffer.byteLength(text, "utf8");
  if (read !== totalBytes) {
    throw new CliError(
      `the result read for job ${jobId} is ${read} bytes, not the ${totalBytes} read_job_result announced; nothing was written`,
    );
  }
  return text;
}
