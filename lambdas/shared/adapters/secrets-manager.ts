import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ConfigError } from "../config/env-reader.js";

/** Reads a secret's string value: all that API keys, integrations and webhooks need from Secrets Manager. */
export type SecretReader = (secretId: string) => Promise<string>;

export function secretsManagerReader(client: SecretsManagerClient): SecretReader {
  return async (secretId) => {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (SecretString === undefined) {
      throw new ConfigError(`The secret ${secretId} has no string value.`);
    }
    return SecretString;
  };
}
