import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ILocalBundling } from "aws-cdk-lib";
import type { BuildOptions, Metafile } from "esbuild";

/**
 * The shipped handler sources, next to this module's own directory: `lambdas/*.ts` in the repository,
 * the built `dist/lambdas/*.js` in an installed package, so the handlers, the runtime entry a user's
 * job types import and the factories are one copy of the code in a bundle.
 */
const LAMBDAS_DIR = fileURLToPath(new URL("../lambdas/", import.meta.url));
const SOURCE_EXTENSION = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/** A shipped module under `lambdas/`, by its path without extension (e.g. `shared/handlers`). */
export function lambdaSource(path: string): string {
  return join(LAMBDAS_DIR, `${path}${SOURCE_EXTENSION}`);
}

/**
 * ESM bundles have no `require`; some dependencies still call it for Node built-ins. The banner gives
 * every file of a bundle one. The alias keeps it from clashing with a bundled module's own
 * `createRequire` import.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/**
 * Packages replaced by a stand-in in every bundle (esbuild aliases): code a function imports but never
 * runs in Lambda. Ajv is built by the MCP SDK's server only to check form-elicitation answers, which
 * this server never requests; the SDK's nested STS, SSO and sign-in clients serve only credential
 * sources that come after the environment, where Lambda puts a function's credentials
 * (lambdas/shared/bundle-stubs/).
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  ajv: lambdaSource("shared/bundle-stubs/ajv"),
  "ajv-formats": lambdaSource("shared/bundle-stubs/ajv-formats"),
  ...Object.fromEntries(
    ["sts", "sso", "sso-oidc", "signin"].map((client) => [
      `@aws-sdk/nested-clients/${client}`,
      lambdaSource("shared/bundle-stubs/nested-clients"),
    ]),
  ),
};

/** The module Lambda loads: `index.mjs`, so the handler is `index.handler`. */
export const BUNDLE_ENTRY_FILE = "index.mjs";
/** Where the code a bundle imports on demand (`import()`) and the code its parts share go. */
export const BUNDLE_CHUNKS_DIR = "chunks";

/**
 * How a function is bundled (esbuild, the same for the deployed functions and the cold-start bench):
 * ESM for Node 22, minified, with source maps without sources, the AWS SDK included. Code split:
 * the entry holds what the handler loads at cold start, each module imported with `import()` gets
 * its own chunk, parsed only when first imported.
 */
export function functionBuildOptions(entry: string, outdir: string): BuildOptions {
  return {
    entryPoints: [entry],
    outdir,
    entryNames: "index",
    chunkNames: `${BUNDLE_CHUNKS_DIR}/[name]-[hash]`,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node22",
    mainFields: ["module", "main"],
    banner: { js: ESM_REQUIRE_BANNER },
    alias: { ...BUNDLE_ALIASES },
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    logLevel: "warning",
  };
}

/** esbuild's synchronous build, from the project that bundles the functions (its own esbuild). */
type BuildSync = (options: BuildOptions) => unknown;

/** esbuild is missing from the project that bundles the functions. */
/**
 * The output files a cold start parses: `entry` and every chunk it reaches through static imports
 * (the other chunks load on first use).
 */
export function coldPathOutputs(metafile: Metafile, entry: string): Set<string> {
  const reached = new Set<string>();
  const pending = [entry];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    if (reached.has(path)) continue;
    reached.add(path);
    for (const imported of metafile.outputs[path]?.imports ?? []) {
      if (imported.kind === "import-statement" && !imported.external) pending.push(imported.path);
    }
  }
  return reached;
}

export class EsbuildNotInstalledError extends Error {
  constructor(projectRoot: string, options?: ErrorOptions) {
    super(
      `AsyncMcpJobs: esbuild could not be loaded from ${projectRoot}, the project that bundles the functions. Install it there: npm install --save-dev --save-exact esbuild`,
      options,
    );
    this.name = "EsbuildNotInstalledError";
  }
}

function esbuildOf(projectRoot: string): BuildSync {
  try {
    const esbuild = createRequire(join(projectRoot, "package.json"))("esbuild") as { buildSync: BuildSync };
    return esbuild.buildSync;
  } catch (error) {
    throw new EsbuildNotInstalledError(projectRoot, { cause: error });
  }
}

/**
 * Bundles a function on this machine, without Docker: esbuild writes the code-split bundle into the
 * asset's output directory, then the `files` (name in the bundle → path here) are copied beside it.
 */
export class LocalFunctionBundling implements ILocalBundling {
  constructor(
    private readonly projectRoot: string,
    private readonly entry: string,
    private readonly files: Readonly<Record<string, string>> = {},
  ) {}

  tryBundle(outputDir: string): boolean {
    if (!existsSync(this.entry)) throw new Error(`AsyncMcpJobs: no handler module at ${this.entry}`);
    esbuildOf(this.projectRoot)(functionBuildOptions(this.entry, outputDir));
    for (const [name, source] of Object.entries(this.files)) {
      const target = join(outputDir, name);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(source, target);
    }
    return true;
  }
}
