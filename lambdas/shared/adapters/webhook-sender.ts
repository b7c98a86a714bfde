import type { AttemptOutcome, Clock, WebhookPost, WebhookSender } from "../domain/ports.js";
import {
  OutboundError,
  type OutboundPolicy,
  OutboundRefusedError,
  OutboundTimeoutError,
} from "../outbound/outbound.js";
import { sendSignedPost } from "./signed-post.js";
import { webhookKey } from "./standard-webhooks.js";

export interface OutboundWebhookSenderOptions {
  /** The HMAC key (the decoded `whsec_…` secret) of posts that bring no secret of their own. */
  readonly key: Buffer;
  /** The shared outbound rules: address checks, no redirects, timeout, response cap. */
  readonly policy: OutboundPolicy;
  readonly clock: Clock;
}

const USER_AGENT = "mcp-async-jobs-webhooks/1";

/**
 * Signs each attempt afresh (a new `webhook-timestamp`, the same `webhook-id`) and sends it through
 * the outbound module shared with the HTTP integrations, then reads the answer as Standard
 * Webhooks senders do: 2xx delivered, 410 stop, 413 stop (the same body will never fit), a redirect
 * is refused (never followed), anything else retried. Reasons are short and never hold the secret, the signature or the receiver's body.
 */
export class OutboundWebhookSender implements WebhookSender {
  constructor(private readonly options: OutboundWebhookSenderOptions) {}

  async send(target: WebhookPost, body: string): Promise<AttemptOutcome> {
    const key = target.secret === undefined ? this.options.key : webhookKey(target.secret);
    let status: number;
    try {
      const response = await sendSignedPost(
        {
          url: target.url,
          key,
          webhookId: target.webhookId,
          body,
          userAgent: USER_AGENT,
          ...(target.headers !== undefined ? { headers: target.headers } : {}),
        },
        this.options.policy,
        this.options.clock,
      );
      status = response.status;
    } catch (error: unknown) {
      if (error instanceof OutboundRefusedError) return { kind: "stop", reason: `refused: ${error.message}` };
      if (error instanceof OutboundTimeoutError)
        return { kind: "retry", reason: `timeout: ${error.message}` };
      // Connection errors and an oversized answer: the receiver may do better next time.
      if (error instanceof OutboundError) return { kind: "retry", reason: error.message };
      throw error;
    }
    if (status >= 200 && status < 300) return { kind: "delivered", status };
    if (status === 410)
      return { kind: "stop", reason: "HTTP 410 Gone: the receiver asked for no more deliveries", gone: true };
    if (status === 413)
      return { kind: "stop", reason: "HTTP 413 Content Too Large: the receiver takes no body this size" };
    if (status >= 300 && status < 400) {
      return { kind: "stop", reason: `refused: HTTP ${status} redirect (redirects are not followed)` };
    }
    return { kind: "retry", reason: `HTTP ${status} from the receiver` };
  }
}
