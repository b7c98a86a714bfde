import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ENV } from "../lambdas/shared/config/env-names.js";
import { EXAMPLES_API_DEFAULT_ORIGIN, type ExamplesApi, startExamplesApi } from "./examples-api.js";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

type Env = Readonly<Record<string, string | undefined>>;

/** The example integrations `npm start` loads when INTEGRATIONS_FILE is not set. */
export const EXAMPLES_FILE = join(REPO_ROOT, "integrations", "examples.json");
/** The OpenAPI document the examples import (beside the file, which names it `./examples.openapi.yaml`). */
export const EXAMPLES_OPENAPI_FILE = join(REPO_ROOT, "integrations", "examples.openapi.yaml");
/** Where `npm start` serves the examples' fake API (default 3100; another port rewrites the file's origin). */
export const EXAMPLES_API_PORT_VARIABLE = "EXAMPLES_API_PORT";

export interface LocalIntegrations {
  readonly env: Env;
  /** The fake API, when the examples are loaded. */
  readonly examplesApi?: ExamplesApi;
  stop(): Promise<void>;
}

/**
 * Without INTEGRATIONS_FILE, `npm start` serves the examples: it starts their fake slow API on
 * loopback and loads `integrations/examples.json`, allowing http to loopback for them. The file names
 * port 3100; when that port is taken (or another is asked for) a copy with the actual origin is used.
 */
export async function prepareLocalIntegrations(env: Env): Promise<LocalIntegrations> {
  if (env[ENV.integrationsFile]?.trim()) return { env, stop: async () => undefined };
  const asked = env[EXAMPLES_API_PORT_VARIABLE];
  const examplesApi = await startExamplesApi(asked ? { port: Number(asked) } : {}).catch((error: unknown) => {
    if (asked || (error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    return startExamplesApi({ port: 0 });
  });
  let file = EXAMPLES_FILE;
  let copyDir: string | undefined;
  if (examplesApi.origin !== EXAMPLES_API_DEFAULT_ORIGIN) {
    copyDir = mkdtempSync(join(tmpdir(), "mcp-integrations-"));
    file = join(copyDir, "examples.json");
    for (const [source, target] of [
      [EXAMPLES_FILE, file],
      [EXAMPLES_OPENAPI_FILE, join(copyDir, basename(EXAMPLES_OPENAPI_FILE))],
    ] as const) {
      writeFileSync(
        target,
        readFileSync(source, "utf8").replaceAll(EXAMPLES_API_DEFAULT_ORIGIN, examplesApi.origin),
      );
    }
  }
  return {
    env: {
      ...env,
      [ENV.integrationsFile]: file,
      [ENV.integrationsAllowLoopback]: env[ENV.integrationsAllowLoopback] ?? "true",
    },
    examplesApi,
    stop: async () => {
      await examplesApi.close();
      if (copyDir) rmSync(copyDir, { recursive: true, force: true });
    },
  };
}
