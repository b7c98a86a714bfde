import * as z from "zod";
import type { SecretReader } from "../adapters/secrets-manager.js";
import { ENV, SECRET_ENV_PREFIX } from "../config/env-names.js";
import { ConfigError, optionalText, readEnv } from "../config/env-reader.js";
import { ExternalApiError } from "../domain/errors.js";
import type { JobType } from "../jobs/job-type.js";
import { checkJobTypeNames } from "../jobs/job-type-names.js";
import type { SecretValues } from "./integration-job-type.js";
import {
  type CompiledIntegration,
  integrationJobTypes,
  type ReservedNames,
  readIntegrationsFile,
  secretNames,
} from "./load.js";

type Env = Readonly<Record<string, string | undefined>>;

const integrationsSpec = {
  file: [ENV.integrationsFile, optionalText],
  allowLoopback: [
    ENV.integrationsAllowLoopback,
    z
      .enum(["true", "false"])
      .default("false")
      .transform((value) => value === "true"),
  ],
  secretArn: [ENV.integrationsSecretArn, optionalText],
} as const;

export interface IntegrationsSetup {
  readonly integrations: readonly CompiledIntegration[];
  readonly allowLoopback: boolean;
  readonly secretArn?: string;
}

/**
 * Reads INTEGRATIONS_FILE (when set) and checks it; a bad file throws one IntegrationsFileError.
 * `reservedNames`: the job types already served, which an integration may not shadow.
 */
export function loadIntegrationsSetup(env: Env, reservedNames: ReservedNames = []): IntegrationsSetup {
  const config = readEnv(integrationsSpec, env);
  return {
    integrations: config.file ? readIntegrationsFile(config.file, reservedNames) : [],
    allowLoopback: config.allowLoopback,
    ...(config.secretArn ? { secretArn: config.secretArn } : {}),
  };
}

/**
 * The job types of the integrations file INTEGRATIONS_FILE names (none when unset). Their secrets
 * are read on the first request that needs them and kept for the container's life: from the stack's
 * Secrets Manager secret (`{ "NAME": "value" }`, INTEGRATIONS_SECRET_ARN, via `readSecret`) or, locally,
 * from `SECRET_<NAME>`. The MCP function builds the same types to list tools and never asks for them.
 */
export function integrationJobTypesFromEnv(
  env: Env,
  served: readonly JobType[],
  readSecret?: SecretReader,
): JobType[] {
  const setup = loadIntegrationsSetup(env, servedNames(served));
  if (setup.integrations.length === 0) return [];
  const needed = secretNames(setup.integrations);
  let loaded: Promise<SecretValues> | undefined;
  const secrets = (): Promise<SecretValues> => {
    loaded ??= loadSecrets(setup, needed, env, readSecret).catch((error: unknown) => {
      // A failed read is tried again by the next request; a successful one is kept.
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
  return integrationJobTypes(setup.integrations, { allowLoopback: setup.allowLoopback, secrets });
}

/** The names of the job types a function serves, as an integration may not take them. */
function servedNames(served: readonly JobType[]): ReservedNames {
  return new Map(
    served.map((type) => [type.name, `the job type "${type.name}" served beside the integrations`]),
  );
}

/**
 * For `npm start`: no two job types (served or declared) share a name, and every secret the file
 * names is set, before anything starts.
 */
export function checkLocalIntegrations(env: Env, served: readonly JobType[]): void {
  checkJobTypeNames(served);
  const setup = loadIntegrationsSetup(env, servedNames(served));
  if (setup.secretArn) return;
  const missing = secretNames(setup.integrations).filter((name) => !env[SECRET_ENV_PREFIX + name]);
  if (missing.length > 0) {
    throw new ConfigError(
      `The integrations need ${missing.map((name) => SECRET_ENV_PREFIX + name).join(", ")}; set them in the environment.`,
    );
  }
}

async function loadSecrets(
  setup: IntegrationsSetup,
  needed: readonly string[],
  env: Env,
  readSecret: SecretReader | undefined,
): Promise<SecretValues> {
  if (needed.length === 0) return {};
  const values = setup.secretArn
    ? await secretsFromManager(setup.secretArn, readSecret)
    : secretsFromEnv(needed, env);
  const missing = needed.filter((name) => !values[name]);
  if (missing.length > 0) {
    throw new ExternalApiError(
      setup.secretArn
        ? `The integrations secret has no value for ${missing.join(", ")}; the operator must add it to the secret's JSON.`
        : `The integrations need ${missing.map((name) => SECRET_ENV_PREFIX + name).join(", ")}; set them in the environment.`,
      false,
      "secret_missing",
    );
  }
  return values;
}

function secretsFromEnv(names: readonly string[], env: Env): SecretValues {
  const values: Record<string, string> = {};
  for (const name of names) {
    const value = env[SECRET_ENV_PREFIX + name];
    if (value) values[name] = value;
  }
  return values;
}

async function secretsFromManager(
  secretArn: string,
  readSecret: SecretReader | undefined,
): Promise<SecretValues> {
  if (!readSecret) {
    throw new ExternalApiError(
      "This function does not read the integrations secret.",
      false,
      "secret_missing",
    );
  }
  let text: string;
  try {
    text = await readSecret(secretArn);
  } catch (error) {
    throw new ExternalApiError(
      "The integrations secret could not be read; trying again later.",
      true,
      "secrets_unavailable",
      {
        cause: error,
      },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Never quote the content: it is the secret.
    throw new ExternalApiError(
      'The integrations secret is not JSON of the form {"NAME": "value"}.',
      false,
      "secret_missing",
    );
  }
  const parsed = z.record(z.string(), z.string()).safeParse(value);
  if (!parsed.success) {
    throw new ExternalApiError(
      'The integrations secret must be a JSON object of strings: {"NAME": "value"}.',
      false,
      "secret_missing",
    );
  }
  return parsed.data;
}
