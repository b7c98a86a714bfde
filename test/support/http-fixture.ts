import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  readonly method: string;
  /** The request target exactly as it arrived on the wire (path and query, still encoded). */
  readonly target: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

export type FixtureHandler = (request: RecordedRequest, response: ServerResponse) => unknown;

export interface HttpFixture {
  /** `http://<host>:<port>`, by default `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Replaces the handler for the requests that follow. */
  handle(handler: FixtureHandler): void;
  close(): Promise<void>;
}

export interface FixtureAddress {
  /** A loopback address; any of 127.0.0.0/8 works on Linux. Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
}

/** A loopback HTTP server that records every request, for tests of outbound calls. */
export async function startHttpFixture(
  handler: FixtureHandler = defaultHandler,
  { host = "127.0.0.1", port: wanted = 0 }: FixtureAddress = {},
): Promise<HttpFixture> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const server = createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const recorded: RecordedRequest = {
        method: incoming.method ?? "",
        target: incoming.url ?? "",
        headers: incoming.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      Promise.resolve(current(recorded, response)).catch(() => response.destroy());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(wanted, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    port,
    requests,
    handle(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function defaultHandler(_request: RecordedRequest, response: ServerResponse): void {
  response.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
}

export function json(response: ServerResponse, status: number, body: unknown, headers = {}): void {
  response.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}
