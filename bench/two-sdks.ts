import { writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { type ColdStartResult, measureColdStart } from "./cold-start.js";
import { machineInfo } from "./machine.js";

/**
 * What serving 2026-07-28 beside 2025-11-25 costs the MCP function: its bundle and cold start with
 * one MCP SDK (the 2026 door left out) and with both, and the worker's and dead-letter function's
 * cold imports beside them. The same figures are part of `npm run bench`; this runs only them:
 * `npx tsx bench/two-sdks.ts [runs]`.
 */
const runs = Number(process.argv[2] ?? "10");
const RESULTS_DIR = fileURLToPath(new URL("./results/", import.meta.url));

const result = await measureColdStart(runs);
await writeFile(
  `${RESULTS_DIR}two-sdks.json`,
  `${JSON.stringify({ machine: machineInfo(false), ...result }, null, 2)}\n`,
);
await writeFile(`${RESULTS_DIR}two-sdks.md`, report(result));
console.log(report(result));

function report(r: ColdStartResult): string {
  const kib = (bytes: number | undefined): string =>
    bytes === undefined ? "—" : `${(bytes / 1024).toFixed(0)} KiB`;
  const bundle = (name: string) => r.bundles.find((b) => b.function === name);
  const variant = (id: string) => r.variants.find((v) => v.id === id);
  const one = bundle("mcp-one-sdk");
  const two = bundle("mcp");
  const rows = [
    "mcp-one-sdk",
    "mcp",
    "mcp-tools-list",
    "mcp-2026",
    "mcp-source-maps",
    "worker",
    "dead-letter",
  ].map((id) => {
    const v = variant(id);
    return `| ${v?.label ?? id} | ${v?.runs ?? 0} | ${v?.processMs ?? "—"} ms | ${v?.importMs ?? "—"} ms | ${v?.importCpuMs ?? "—"} ms | ${v?.firstRequestMs ?? "—"} ms |`;
  });
  const machine = machineInfo(false);
  return [
    "# The second MCP SDK: bundle size and cold start",
    "",
    `Measured with \`npx tsx bench/two-sdks.ts ${runs}\` (also part of \`npm run bench\`, section 5) on ${machine.cores}× ${machine.cpuModel}, Node ${machine.node}, commit ${machine.commit}; load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(", ")} (the machine is shared: compare rows with each other, not with other runs).`,
    "The one-SDK bundle is the MCP handler built with the 2026-07-28 door replaced by a door that takes no request, so nothing of `@modelcontextprotocol/server` is bundled.",
    "",
    "The bundles are code split as the CDK builds them (lib/function-bundle.ts): *entry* is index.mjs, *cold path* the entry and the chunks it imports statically (what a cold start parses); the 2026-07-28 door and the v2 SDK are a chunk loaded by the first request that may belong to it.",
    "",
    "| MCP bundle (esbuild, minified, as the CDK builds it) | Entry | Cold path | All files | gzip (all) |",
    "|---|---|---|---|---|",
    `| one SDK (\`@modelcontextprotocol/sdk\` 1.32.2) | ${kib(one?.entryBytes)} | ${kib(one?.coldBytes)} | ${kib(one?.bytes)} | ${kib(one?.gzipBytes)} |`,
    `| two SDKs (+ \`@modelcontextprotocol/server\` 2.4.0) | ${kib(two?.entryBytes)} | ${kib(two?.coldBytes)} | ${kib(two?.bytes)} | ${kib(two?.gzipBytes)} |`,
    `| difference | ${kib((two?.entryBytes ?? 0) - (one?.entryBytes ?? 0))} | ${kib((two?.coldBytes ?? 0) - (one?.coldBytes ?? 0))} | ${kib((two?.bytes ?? 0) - (one?.bytes ?? 0))} | ${kib((two?.gzipBytes ?? 0) - (one?.gzipBytes ?? 0))} |`,
    "",
    "Fresh node processes, medians, variants interleaved round-robin; *import CPU* is the process's CPU time during the import (all threads):",
    "",
    "| Variant | Runs | Process (spawn to exit) | Import | Import CPU | First request |",
    "|---|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}
