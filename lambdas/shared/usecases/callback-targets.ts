import { randomUUID } from "node:crypto";
import { CallbackRefusedError, type NotificationTarget } from "../domain/notifications.js";
import { checkOutboundUrl, type OutboundPolicy, OutboundRefusedError } from "../outbound/outbound.js";

export interface CallbackSettings {
  /** Origins a caller's callbackUrl may point at (CALLBACK_ALLOWED_ORIGINS); empty: none. */
  readonly allowedOrigins: readonly string[];
  /** Notified of every job of the deployment, on top of the caller's own callbackUrl. */
  readonly defaultCallbackUrl?: string;
  /** The outbound rules the delivery will apply (https only unless loopback is allowed). */
  readonly outbound: Pick<OutboundPolicy, "allowLoopback">;
}

/**
 * Decides, at start, which URLs a job notifies when it ends. Only what can be judged without a
 * connection is judged here (scheme, credentials, the operator's allowlist); what a host resolves
 * to and how the receiver answers is judged at delivery, on the address actually connected to.
 */
export class CallbackTargets {
  private readonly allowedOrigins: ReadonlySet<string>;

  constructor(
    private readonly settings: CallbackSettings,
    private readonly newWebhookId: () => string = () => `msg_${randomUUID()}`,
  ) {
    this.allowedOrigins = new Set(settings.allowedOrigins.map((origin) => new URL(origin).origin));
  }

  /** The targets of a new job: the caller's callbackUrl first, then the deployment default. */
  targetsFor(callbackUrl: string | undefined): NotificationTarget[] {
    const urls: string[] = [];
    if (callbackUrl !== undefined) urls.push(this.checkCallerUrl(callbackUrl));
    const fallback = this.settings.defaultCallbackUrl;
    if (fallback !== undefined && !urls.includes(fallback)) urls.push(fallback);
    return urls.map((url) => ({ webhookId: this.newWebhookId(), url, status: "pending", attempts: 0 }));
  }

  private checkCallerUrl(callbackUrl: string): string {
    let url: URL;
    try {
      url = checkOutboundUrl(callbackUrl, this.outboundPolicy());
    } catch (error) {
      // The shared check names the rule and at most the origin, never the path or credentials.
      if (error instanceof OutboundRefusedError) {
        throw new CallbackRefusedError(`callbackUrl was refused: ${error.message}`);
      }
      throw error;
    }
    if (this.allowedOrigins.size === 0) {
      throw new CallbackRefusedError(
        "callbackUrl is not enabled on this server (the operator allows no callback origins).",
      );
    }
    if (!this.allowedOrigins.has(url.origin)) {
      throw new CallbackRefusedError(
        `callbackUrl was refused: its origin ${url.origin} is not one the operator allows (CALLBACK_ALLOWED_ORIGINS).`,
      );
    }
    return url.href;
  }

  private outboundPolicy(): OutboundPolicy {
    // Only the scheme and credential rules apply to a URL check; the rest matters at delivery.
    return { allowLoopback: this.settings.outbound.allowLoopback, maxResponseBytes: 0, timeoutMs: 0 };
  }
}
