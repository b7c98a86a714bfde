#!/usr/bin/env node
import { runJobsCli } from "../cli/program.js";

/** `jobs`: start, watch, list and cancel the jobs of an mcp-async-jobs server from a terminal. */
const interrupt = new AbortController();
// The first Ctrl-C stops watching cleanly (the bar is put away, the job goes on); a second one exits at once.
process.once("SIGINT", () => interrupt.abort());
process.exitCode = await runJobsCli(process.argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: interrupt.signal,
});
