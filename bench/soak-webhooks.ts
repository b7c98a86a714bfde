import { createServer, type IncomingMessage, type Server } from "node:http";
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

/**
 * A Standard Webhooks receiver on loopback: it verifies every signature, answers 503 to the first
 * attempt of a webhook-id when `refuseFirst` says so (the sender must retry with the same id), 204
 * otherwise, and keeps every delivery.
 */
export class WebhookReceiver {
  readonly deliveries: WebhookDelivery[] = [];
  private readonly seen = new Set<string>();
  private server?: Server;
  origin = "";

  constructor(
    private readonly secret: string,
    private readonly refuseFirst: (index: number) => boolean,
  ) {}

  async start(): Promise<void> {
    const verifier = new Webhook(this.secret);
    this.server = createServer((request, response) => {
      void readBody(request).then((body) => {
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
