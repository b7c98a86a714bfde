import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ConfigError } from "../config/env-reader.js";
import { type AwsCaller, awsClientOptions } from "./aws-call-policy.js";

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

/** A reader over a new client with `caller`'s timeouts and retries. */
export function newSecretsManagerReader(caller: AwsCaller): SecretReader {
  return secretsManagerReader(new SecretsManagerClient(awsClientOptions(caller)));
}
