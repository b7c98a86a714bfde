import { createHmac, randomBytes } from "node:crypto";
import { SECRET_PREFIX, webhookKeyError, withoutPrefix } from "../domain/webhook-secret.js";

/**
 * The HMAC key of a `whsec_…` secret. The prefix is optional, so the bare base64 value Secrets
 * Manager generates is accepted too. Errors never quote the secret.
 */
export function webhookKey(secret: string): Buffer {
  const problem = webhookKeyError(secret);
  if (problem !== undefined) throw new Error(`The webhook secret ${problem}`);
  return Buffer.from(withoutPrefix(secret), "base64");
}

/** A new secret: 32 random bytes, as `npm start` generates one. */
export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString("base64")}`;
}

/** The three Standard Webhooks headers of one attempt. */
export function webhookHeaders(
  key: Buffer,
  webhookId: string,
  timestampSeconds: number,
  body: string,
): Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string> {
  const signature = createHmac("sha256", key)
    .update(`${webhookId}.${timestampSeconds}.${body}`)
    .digest("base64");
  return {
    "webhook-id": webhookId,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": `v1,${signature}`,
  };
}
