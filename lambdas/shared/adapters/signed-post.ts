import type { Clock } from "../domain/ports.js";
import { type OutboundPolicy, type OutboundResponse, sendOutbound } from "../outbound/outbound.js";
import { webhookHeaders } from "./standard-webhooks.js";

/** One JSON POST signed per Standard Webhooks at send time (a fresh `webhook-timestamp`). */
export interface SignedPost {
  readonly url: string;
  /** The HMAC key: the decoded `whsec_…` secret. */
  readonly key: Buffer;
  readonly webhookId: string;
  readonly body: string;
  readonly userAgent: string;
  /** Sent as well, before the signature headers. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Sends `post` through the outbound rules (address checks, no redirects, timeout, response cap). */
export function sendSignedPost(
  post: SignedPost,
  policy: OutboundPolicy,
  clock: Clock,
): Promise<OutboundResponse> {
  const timestamp = Math.floor(clock.now() / 1000);
  return sendOutbound(
    {
      url: post.url,
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": post.userAgent,
        ...post.headers,
        ...webhookHeaders(post.key, post.webhookId, timestamp, post.body),
      },
      body: post.body,
    },
    policy,
  );
}
