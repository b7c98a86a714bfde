import type { SecretReader } from "../adapters/secrets-manager.js";
import { ConfigError } from "../config/env-reader.js";
import type { ApiKeyEntry } from "./api-key-authenticator.js";

/**
 * Loads the named keys from the secret the stack creates: JSON `{"<name>": "<key>", ...}`, one
 * generated key under "default" at first. Read once at cold start; a key added later reaches new
 * containers only. Errors never quote the secret's content.
 */
export async function loadApiKeysFromSecret(secretId: string, read: SecretReader): Promise<ApiKeyEntry[]> {
  const text = await read(secretId);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`The API key secret ${secretId} is not JSON of the form {"<name>": "<key>"}.`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`The API key secret ${secretId} must be a JSON object: {"<name>": "<key>"}.`);
  }
  return Object.entries(value).map(([name, key]) => {
    if (typeof key !== "string") {
      throw new ConfigError(`The API key secret ${secretId}: the value of "${name}" must be a string.`);
    }
    return { name, key };
  });
}
