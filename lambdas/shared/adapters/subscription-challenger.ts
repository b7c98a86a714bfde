import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { SUBSCRIPTION_ID_HEADER } from "../domain/events.js";
import type { ChallengeOutcome, Clock, SubscriptionChallenger } from "../domain/ports.js";
import {
  OutboundError,
  type OutboundPolicy,
  OutboundRefusedError,
  OutboundTimeoutError,
} from "../outbound/outbound.js";
import { sendSignedPost } from "./signed-post.js";
import { webhookKey } from "./standard-webhooks.js";

const USER_AGENT = "mcp-async-jobs-events/1";

export interface OutboundChallengerOptions {
  /** The outbound rules: address checks at connect time, no redirects, timeout, response cap. */
  readonly policy: OutboundPolicy;
  readonly clock: Clock;
}

/**
 * The Events draft's endpoint verification: a signed `{ type: "verification", challenge }` POST to
 * the subscriber's URL, exactly as given, which must answer `200 { challenge }` with the same nonce
 * (compared in constant time). It runs inside the subscribe call, through the outbound module.
 */
export class OutboundChallenger implements SubscriptionChallenger {
  constructor(private readonly options: OutboundChallengerOptions) {}

  async challenge(request: {
    readonly url: string;
    readonly subscriptionId: string;
    readonly secret: string;
  }): Promise<ChallengeOutcome> {
    const nonce = randomBytes(24).toString("base64url");
    const body = JSON.stringify({ type: "verification", challenge: nonce });
    let status: number;
    let answer: Buffer;
    try {
      const response = await sendSignedPost(
        {
          url: request.url,
          key: webhookKey(request.secret),
          webhookId: `msg_verification_${randomUUID()}`,
          body,
          userAgent: USER_AGENT,
          headers: { [SUBSCRIPTION_ID_HEADER]: request.subscriptionId },
        },
        this.options.policy,
        this.options.clock,
      );
      status = response.status;
      answer = response.body;
    } catch (error) {
      if (error instanceof OutboundRefusedError)
        return { ok: false, reason: "refused", detail: error.message };
      if (error instanceof OutboundTimeoutError)
        return { ok: false, reason: "timeout", detail: error.message };
      if (error instanceof OutboundError) return { ok: false, reason: "unreachable", detail: error.message };
      throw error;
    }
    if (status !== 200) {
      return { ok: false, reason: "challenge_failed", detail: `the URL answered HTTP ${status}, not 200` };
    }
    if (!sameNonce(echoedChallenge(answer), nonce)) {
      return { ok: false, reason: "challenge_failed", detail: "the answer did not echo the challenge" };
    }
    return { ok: true };
  }
}

function echoedChallenge(body: Buffer): string {
  try {
    const parsed: unknown = JSON.parse(body.toString("utf8"));
    if (parsed !== null && typeof parsed === "object" && "challenge" in parsed) {
      const { challenge } = parsed;
      if (typeof challenge === "string") return challenge;
    }
  } catch {
    // Not JSON: no echo.
  }
  return "";
}

/** Constant time whatever the lengths: the digests are compared, never the strings. */
function sameNonce(echoed: string, nonce: string): boolean {
  const digest = (text: string): Buffer => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(echoed), digest(nonce));
}
