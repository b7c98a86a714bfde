import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

/** One POST the receiver answered. */
export interface WebhookDelivery {
  readonly webhookId: string;
  /** The path's job number (`/hook/<index>`). */
  readonly index: number;
  /** Status the receiver answered: 2xx accepts the event, 503 asks for a retry. */
  readonly answered: number;
  readonly at: number;
  /** The verified event, or undefined when the signature did not verify. */
  readonly event?: {
    readonly type: string;
    readonly data: { readonly jobId?: string; readonly status?: string };
  };
}

/** One POST to the MCP Events path (`/events`) the receiver answered. */
export interface EventDelivery {
  /** The `webhook-id`: the event's `eventId`, the same on every attempt. */
  readonly webhookId: string;
  readonly subscriptionId: string;
  readonly answered: number;
  readonly at: number;
  /** The verified `job.finished` event, or undefined when the signature or the body did not check out. */
  readonly event?: {
    readonly eventId: string;
    readonly name: string;
    readonly data: { readonly jobId?: string; readonly status?: string };
  };
}

/** Where MCP Events are delivered on the soak's receiver. */
export const EVENTS_PATH = "/events";

/**
 * A Standard Webhooks receiver on loopback: it verifies every signature, answers 503 to the first
 * attempt of a webhook-id when `refuseFirst` says so (the sender must retry with the same id), 204
 * otherwise, and keeps every delivery. On `/events` it is an MCP Events subscriber signed with
 * `eventSecret`: it echoes the verification challenge and keeps each event delivery apart.
 */
export class WebhookReceiver {
  readonly deliveries: WebhookDelivery[] = [];
  readonly eventDeliveries: EventDelivery[] = [];
  /** Verification challenges answered. */
  challenges = 0;
  private readonly seen = new Set<string>();
  private server?: Server;
  origin = "";

  constructor(
    private readonly secret: string,
    private readonly refuseFirst: (index: number) => boolean,
    private readonly eventSecret?: string,
  ) {}

  async start(): Promise<void> {
    const verifier = new Webhook(this.secret);
    const eventVerifier = this.eventSecret === undefined ? undefined : new Webhook(this.eventSecret);
    this.server = createServer((request, response) => {
      void readBody(request).then((body) => {
        if (eventVerifier !== undefined && (request.url ?? "").split("?")[0] === EVENTS_PATH) {
          this.receiveEvent(eventVerifier, request, body, response);
          return;
        }
        const webhookId = String(request.headers["webhook-id"] ?? "");
        const index = Number(/^\/hook\/(\d+)$/.exec(request.url ?? "")?.[1] ?? -1);
        let event: WebhookDelivery["event"];
        try {
          event = verifier.verify(body, {
            "webhook-id": webhookId,
            "webhook-timestamp": String(request.headers["webhook-timestamp"] ?? ""),
            "webhook-signature": String(request.headers["webhook-signature"] ?? ""),
          }) as WebhookDelivery["event"];
        } catch {
          event = undefined;
        }
        const first = !this.seen.has(webhookId);
        this.seen.add(webhookId);
        const answered = event === undefined ? 400 : first && this.refuseFirst(index) ? 503 : 204;
        this.deliveries.push({ webhookId, index, answered, at: Date.now(), ...(event ? { event } : {}) });
        response.writeHead(answered).end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private receiveEvent(
    verifier: Webhook,
    request: IncomingMessage,
    body: string,
    response: ServerResponse,
  ): void {
    const webhookId = String(request.headers["webhook-id"] ?? "");
    const subscriptionId = String(request.headers["x-mcp-subscription-id"] ?? "");
    let verified: unknown;
    try {
      verified = verifier.verify(body, {
        "webhook-id": webhookId,
        "webhook-timestamp": String(request.headers["webhook-timestamp"] ?? ""),
        "webhook-signature": String(request.headers["webhook-signature"] ?? ""),
      });
    } catch {
      verified = undefined;
    }
    const message = verified as { type?: string; challenge?: string } | undefined;
    if (message?.type === "verification" && typeof message.challenge === "string") {
      this.challenges++;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ challenge: message.challenge }));
      return;
    }
    const event = verified as EventDelivery["event"];
    const wellFormed = event !== undefined && event.eventId === webhookId && event.name === "job.finished";
    const first = !this.seen.has(webhookId);
    this.seen.add(webhookId);
    const answered = !wellFormed ? 400 : first && this.refuseFirst(-1) ? 503 : 204;
    this.eventDeliveries.push({
      webhookId,
      subscriptionId,
      answered,
      at: Date.now(),
      ...(wellFormed ? { event } : {}),
    });
    response.writeHead(answered).end();
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (this.server === undefined) return resolve();
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
