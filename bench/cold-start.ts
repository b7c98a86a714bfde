import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build, version as esbuildVersion, type Metafile, type Plugin } from "esbuild";
import { BUNDLE_ENTRY_FILE, coldPathOutputs, functionBuildOptions } from "../lib/function-bundle.js";
import { median } from "./stats.js";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const FUNCTIONS = ["mcp", "worker", "dead-letter"] as const;
type FunctionName = (typeof FUNCTIONS)[number];
const CHILD_TIMEOUT_MS = 30_000;

/** The MCP handler as it was with one MCP SDK: the 2026-07-28 door (the v2 SDK) left out. */
const ONE_SDK_BUNDLE = "mcp-one-sdk";
type BundleName = FunctionName | typeof ONE_SDK_BUNDLE;

export interface BundleSize {
  readonly function: BundleName;
  /** Every file of the code-split bundle (the entry and its chunks), minified. */
  readonly bytes: number;
  readonly gzipBytes: number;
  /** The entry module, index.mjs. */
  readonly entryBytes: number;
  /** What a cold start parses: the entry and the chunks it imports statically (not those behind `import()`). */
  readonly coldBytes: number;
  readonly files: number;
  /** The source maps deployed beside them (sourcesContent off); Node reads them only with --enable-source-maps. */
  readonly sourceMapBytes: number;
  /** What each package adds to the minified bundle (esbuild metafile), largest first; the project's own code as "(project)". */
  readonly packages: readonly PackageCost[];
}

export interface PackageCost {
  readonly name: string;
  readonly bytes: number;
  /** The part of it parsed at cold start (in the entry or a chunk it imports statically). */
  readonly coldBytes: number;
}

export interface ColdStartVariant {
  readonly id: string;
  readonly label: string;
  readonly runs: number;
  /** Medians, ms. processMs: spawn to exit, node's own start included. */
  readonly processMs: number;
  readonly importMs?: number;
  /** CPU time the import took (user + system, every thread of the process): less swayed by other load than wall time. */
  readonly importCpuMs?: number;
  readonly firstRequestMs?: number;
}

export interface ColdStartResult {
  readonly bundles: readonly BundleSize[];
  readonly variants: readonly ColdStartVariant[];
  /** Median process time of the MCP handler's cold start minus that of an empty node process. */
  readonly mcpOverNodeMs: number;
  readonly esbuildVersion: string;
}

interface Variant {
  readonly id: string;
  readonly label: string;
  readonly bundle?: BundleName;
  /** The first request the handler answers: a 2025 `initialize`, or a 2026-07-28 `server/discover`. */
  readonly firstRequest?: "initialize" | "discover" | "tools/list";
  readonly nodeArgs?: readonly string[];
}

const VARIANTS: readonly Variant[] = [
  { id: "node", label: "empty node process (baseline)" },
  {
    id: ONE_SDK_BUNDLE,
    label: "MCP handler, one SDK (no 2026 door): import + first initialize",
    bundle: ONE_SDK_BUNDLE,
    firstRequest: "initialize",
  },
  { id: "mcp", label: "MCP handler: import + first initialize", bundle: "mcp", firstRequest: "initialize" },
  {
    id: "mcp-tools-list",
    label: "MCP handler: import + first 2025 tools/list (converts the tools' JSON Schemas)",
    bundle: "mcp",
    firstRequest: "tools/list",
  },
  {
    id: "mcp-2026",
    label: "MCP handler: import + first 2026-07-28 server/discover",
    bundle: "mcp",
    firstRequest: "discover",
  },
  {
    id: "mcp-source-maps",
    label: "MCP handler with --enable-source-maps (as deployed)",
    bundle: "mcp",
    firstRequest: "initialize",
    nodeArgs: ["--enable-source-maps"],
  },
  { id: "worker", label: "worker handler: import", bundle: "worker" },
  { id: "dead-letter", label: "dead-letter handler: import", bundle: "dead-letter" },
];

/**
 * Bundles each handler as the CDK does (the same esbuild options, lib/function-bundle.ts: code split,
 * ESM, minified, node22, the `require` banner, the aliases, source maps without sources) and times
 * fresh node processes importing it, interleaved round-robin so drift hits every variant alike.
 * Importing builds the SDK clients; it sends nothing.
 */
export async function measureColdStart(runs: number): Promise<ColdStartResult> {
  const dir = await mkdtemp(join(tmpdir(), "mcp-async-jobs-bench-"));
  try {
    const bundles: BundleSize[] = [];
    const stub = join(dir, "no-2026-door.mjs");
    await writeFile(stub, NO_2026_DOOR_SOURCE);
    const builds: ReadonlyArray<{ name: BundleName; entry: FunctionName; plugins: Plugin[] }> = [
      ...FUNCTIONS.map((name) => ({ name, entry: name, plugins: [] })),
      { name: ONE_SDK_BUNDLE, entry: "mcp", plugins: [without2026Door(stub)] },
    ];
    for (const { name, entry, plugins } of builds) {
      const outdir = join(dir, name);
      const { metafile } = await build({
        ...functionBuildOptions(join(REPO_ROOT, "lambdas", entry, "handler.ts"), outdir),
        plugins,
        metafile: true,
        logLevel: "error",
      });
      bundles.push(await bundleSize(name, outdir, metafile));
    }

    const childScript = join(dir, "cold-start-child.mjs");
    await writeFile(childScript, CHILD_SOURCE);
    const samples = new Map<string, ChildReport[]>(VARIANTS.map((v) => [v.id, []]));
    for (let run = 0; run < runs; run++) {
      for (const variant of VARIANTS) {
        const bundle = variant.bundle
          ? pathToFileURL(join(dir, variant.bundle, BUNDLE_ENTRY_FILE)).href
          : undefined;
        samples.get(variant.id)?.push(await runChild(childScript, variant, bundle));
      }
    }

    const variants = VARIANTS.map((variant): ColdStartVariant => {
      const reports = samples.get(variant.id) ?? [];
      const pick = (key: "importMs" | "importCpuMs" | "firstRequestMs"): number | undefined => {
        const values = reports.flatMap((r) => (r[key] === null ? [] : [r[key]]));
        return values.length === 0 ? undefined : Math.round(median(values));
      };
      const importMs = pick("importMs");
      const importCpuMs = pick("importCpuMs");
      const firstRequestMs = pick("firstRequestMs");
      return {
        id: variant.id,
        label: variant.label,
        runs: reports.length,
        processMs: Math.round(median(reports.map((r) => r.processMs))),
        ...(importMs !== undefined ? { importMs } : {}),
        ...(importCpuMs !== undefined ? { importCpuMs } : {}),
        ...(firstRequestMs !== undefined ? { firstRequestMs } : {}),
      };
    });
    const processOf = (id: string): number => variants.find((v) => v.id === id)?.processMs ?? Number.NaN;
    return { bundles, variants, mcpOverNodeMs: processOf("mcp") - processOf("node"), esbuildVersion };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The sizes of one code-split bundle, from the files esbuild wrote and its metafile. */
async function bundleSize(name: BundleName, outdir: string, metafile: Metafile): Promise<BundleSize> {
  const code = Object.keys(metafile.outputs).filter((path) => path.endsWith(".mjs"));
  const entry = code.find(
    (path) => path.endsWith(`/${BUNDLE_ENTRY_FILE}`) && metafile.outputs[path]?.entryPoint,
  );
  if (entry === undefined) throw new Error(`No ${BUNDLE_ENTRY_FILE} in the ${name} bundle (${outdir})`);
  const cold = coldPathOutputs(metafile, entry);
  const contents = await Promise.all(code.map((path) => readFile(path)));
  const sizeOf = (path: string): number => metafile.outputs[path]?.bytes ?? 0;
  const sum = (paths: Iterable<string>): number =>
    [...paths].reduce((total, path) => total + sizeOf(path), 0);
  const maps = await Promise.all(code.map((path) => stat(`${path}.map`)));
  return {
    function: name,
    bytes: sum(code),
    gzipBytes: gzipSync(Buffer.concat(contents)).byteLength,
    entryBytes: sizeOf(entry),
    coldBytes: sum(cold),
    files: code.length,
    sourceMapBytes: maps.reduce((total, map) => total + map.size, 0),
    packages: packageCosts(metafile, cold),
  };
}

/** Bytes in the output per package: node_modules/<name>/…, everything else counted as the project's code. */
function packageCosts(metafile: Metafile, cold: ReadonlySet<string>): PackageCost[] {
  const costs = new Map<string, { bytes: number; coldBytes: number }>();
  for (const [file, output] of Object.entries(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const name = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(path)?.[1] ?? "(project)";
      const cost = costs.get(name) ?? { bytes: 0, coldBytes: 0 };
      cost.bytes += input.bytesInOutput;
      if (cold.has(file)) cost.coldBytes += input.bytesInOutput;
      costs.set(name, cost);
    }
  }
  return [...costs.entries()].map(([name, cost]) => ({ name, ...cost })).sort((a, b) => b.bytes - a.bytes);
}

interface ChildReport {
  readonly processMs: number;
  readonly importMs: number | null;
  readonly importCpuMs: number | null;
  readonly firstRequestMs: number | null;
}

async function runChild(script: string, variant: Variant, bundle: string | undefined): Promise<ChildReport> {
  // A clean environment: only what the handlers read at import, with dummy credentials and no network.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "bench",
    AWS_SECRET_ACCESS_KEY: "bench",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    POWERTOOLS_LOG_LEVEL: "WARN",
    JOB_TABLE_NAME: "bench-jobs",
    JOB_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/000000000000/bench-jobs",
    AUTH_MODE: "none",
    ...(bundle ? { BENCH_BUNDLE: bundle } : {}),
    ...(variant.firstRequest ? { BENCH_FIRST_REQUEST: variant.firstRequest } : {}),
  };
  const started = performance.now();
  const { code, stdout, stderr } = await spawnAndWait(
    process.execPath,
    [...(variant.nodeArgs ?? []), script],
    env,
  );
  const processMs = performance.now() - started;
  const line = stdout.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
  if (code !== 0 || line === undefined) {
    throw new Error(`Cold-start child ${variant.id} failed (exit ${code}): ${stderr.slice(-2_000)}`);
  }
  const report = JSON.parse(line.slice("BENCH_RESULT ".length)) as {
    importMs: number | null;
    importCpuMs: number | null;
    firstRequestMs: number | null;
    status: number | null;
  };
  if (variant.firstRequest && report.status !== 200) {
    throw new Error(`Cold-start child ${variant.id}: the first request answered ${report.status}`);
  }
  return {
    processMs,
    importMs: report.importMs,
    importCpuMs: report.importCpuMs,
    firstRequestMs: report.firstRequestMs,
  };
}

function spawnAndWait(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"], timeout: CHILD_TIMEOUT_MS });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Replaces the 2026-07-28 door module: a door that takes no request, so nothing of the v2 SDK is bundled. */
function without2026Door(stub: string): Plugin {
  return {
    name: "without-2026-door",
    setup(context) {
      context.onResolve({ filter: /\/door-2026\.js$/ }, () => ({ path: stub }));
    },
  };
}

const NO_2026_DOOR_SOURCE = `
export function createModernDoor() {
  return { accepts: async () => false, fetch: async () => new Response(null, { status: 404 }) };
}
`;

/** Runs in the fresh process: import the bundle, optionally answer one initialize or server/discover request. */
const CHILD_SOURCE = `
const bundle = process.env.BENCH_BUNDLE;
let importMs = null, importCpuMs = null, firstRequestMs = null, status = null;
if (bundle) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const mod = await import(bundle);
  importMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  importCpuMs = (cpu.user + cpu.system) / 1000;
  const first = process.env.BENCH_FIRST_REQUEST;
  if (first) {
    const modern = first === "discover";
    const body = JSON.stringify(modern
      ? { jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": {},
          "io.modelcontextprotocol/clientInfo": { name: "bench", version: "1.0.0" } } } }
      : first === "tools/list"
      ? { jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }
      : { jsonrpc: "2.0", id: 1, method: "initialize", params: {
          protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1.0.0" } } });
    const domainName = "bench.lambda-url.us-east-1.on.aws";
    const modernHeaders = modern ? { "mcp-protocol-version": "2026-07-28", "mcp-method": "server/discover" }
      : first === "tools/list" ? { "mcp-protocol-version": "2025-06-18" } : {};
    const event = {
      version: "2.0", routeKey: "$default", rawPath: "/mcp", rawQueryString: "",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", host: domainName, ...modernHeaders },
      requestContext: { accountId: "000000000000", apiId: "bench", domainName, domainPrefix: "bench",
        http: { method: "POST", path: "/mcp", protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "bench" },
        requestId: "bench", routeKey: "$default", stage: "$default", time: new Date().toISOString(), timeEpoch: Date.now() },
      body, isBase64Encoded: false,
    };
    const context = { functionName: "mcp", awsRequestId: "bench", getRemainingTimeInMillis: () => 29000 };
    const t1 = performance.now();
    const result = await mod.handler(event, context);
    firstRequestMs = performance.now() - t1;
    status = result.statusCode;
  }
}
console.log("BENCH_RESULT " + JSON.stringify({ importMs, importCpuMs, firstRequestMs, status }));
process.exit(0);
`;
