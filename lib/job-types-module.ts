import { createRequire } from "node:module";
import { join } from "node:path";
import type { BuildOptions } from "esbuild";
import { PROJECT_ROOT } from "./lambda-function.js";

/**
 * The names of the job types a `jobTypesModule` exports, read at synth so that a name clash stops
 * synth instead of a function's start. The module is bundled (the project's own esbuild, the one that
 * bundles the functions) into one CommonJS file in `outDir` and loaded: TypeScript or JavaScript,
 * whatever runs `cdk`. Loading runs the module's top level, as the functions do at cold start.
 */
export function jobTypeNamesOf(modulePath: string, outDir: string): string[] {
  const esbuild = createRequire(join(PROJECT_ROOT, "package.json"))("esbuild") as {
    buildSync(options: BuildOptions): unknown;
  };
  const outfile = join(outDir, "job-type-names.cjs");
  try {
    esbuild.buildSync({
      entryPoints: [modulePath],
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      outfile,
      logLevel: "silent",
    });
  } catch (error) {
    throw new Error(
      `AsyncMcpJobs: jobTypesModule ${modulePath} could not be bundled to read its job types.`,
      {
        cause: error,
      },
    );
  }
  const loaded = createRequire(import.meta.url)(outfile) as { readonly jobTypes?: unknown };
  const jobTypes = loaded.jobTypes;
  if (!Array.isArray(jobTypes)) {
    throw new Error(
      `AsyncMcpJobs: jobTypesModule ${modulePath} must export \`jobTypes\`, an array of job types.`,
    );
  }
  return jobTypes.map((jobType: unknown, index) => {
    const name = (jobType as { readonly name?: unknown } | undefined)?.name;
    if (typeof name !== "string" || name === "") {
      throw new Error(`AsyncMcpJobs: jobTypesModule ${modulePath}: jobTypes[${index}] has no name.`);
    }
    return name;
  });
}
