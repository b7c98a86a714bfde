import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** The port `integrations/examples.json` names; another port means a rewritten copy of the file. */
export const EXAMPLES_API_DEFAULT_PORT = 3100;
export const EXAMPLES_API_DEFAULT_ORIGIN = `http://127.0.0.1:${EXAMPLES_API_DEFAULT_PORT}`;

export interface ExamplesApi {
  readonly origin: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface ExamplesApiOptions {
  /** Default EXAMPLES_API_DEFAULT_PORT; 0 picks a free port. */
  readonly port?: number;
  /** Seconds the sync endpoint takes. Default 2. */
  readonly summaryDelaySeconds?: number;
}

interface Report {
  readonly customerId: string;
  readonly startedAt: number;
  readonly durationMs: number;
  cancelled: boolean;
}

/**
 * A small slow REST API on loopback for `npm start`'s example integrations:
 * - `POST /v1/summaries` answers after a couple of seconds (sync);
 * - `POST /v1/reports` answers 202 + Location; `GET /v1/reports/{id}` reports `percent` and finishes
 *   after `durationSeconds` (default 20); `DELETE /v1/reports/{id}` cancels it;
 * - `POST /v1/invoices` always fails with 422;
 * - under `/v2`, the operations of `integrations/examples.openapi.yaml`: a quick quote, a translation
 *   (202 + Operation-Location + Retry-After, cancelled by DELETE on its status resource), an export
 *   (AIP-151, cancelled by `:cancel`) and an archive whose operation always ends Failed.
 */
export async function startExamplesApi(options: ExamplesApiOptions = {}): Promise<ExamplesApi> {
  const reports = new Map<string, Report>();
  const v2 = longRunningRoutes();
  const summaryDelayMs = (options.summaryDelaySeconds ?? 2) * 1000;
  const server = createServer((request, response) => {
    readJson(request).then(
      (body) => route(request, response, body),
      () => send(response, 400, { error: "the body must be JSON" }),
    );
  });

  const route = (request: IncomingMessage, response: ServerResponse, body: Record<string, unknown>): void => {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    if (request.method === "POST" && path === "/v1/summaries") {
      const text = String(body.text ?? "");
      const words = text.split(/\s+/).filter(Boolean);
      setTimeout(
        () =>
          send(response, 200, {
            summary: words.length > 12 ? `${words.slice(0, 12).join(" ")} …` : text,
            words: words.length,
          }),
        summaryDelayMs,
      );
      return;
    }
    if (request.method === "POST" && path === "/v1/reports") {
      const id = randomUUID();
      const seconds = Number(body.durationSeconds ?? 20);
      reports.set(id, {
        customerId: String(body.customerId ?? ""),
        startedAt: Date.now(),
        durationMs: (Number.isFinite(seconds) ? Math.max(0, seconds) : 20) * 1000,
        cancelled: false,
      });
      send(response, 202, { id, status: "queued" }, { location: `/v1/reports/${id}` });
      return;
    }
    const reportId = /^\/v1\/reports\/([0-9a-f-]{36})$/.exec(path)?.[1];
    const report = reportId ? reports.get(reportId) : undefined;
    if (reportId && report && request.method === "DELETE") {
      report.cancelled = true;
      response.writeHead(204).end();
      return;
    }
    if (reportId && report && request.method === "GET") {
      const elapsed = Date.now() - report.startedAt;
      if (report.cancelled) send(response, 200, { id: reportId, status: "cancelled" });
      else if (elapsed >= report.durationMs) {
        send(response, 200, {
          id: reportId,
          status: "succeeded",
          percent: 100,
          report: { customerId: report.customerId, orders: 42, revenue: 12_345.67 },
        });
      } else {
        send(response, 200, {
          id: reportId,
          status: "running",
          percent: Math.floor((elapsed / report.durationMs) * 100),
        });
      }
      return;
    }
    if (path.startsWith("/v2/")) {
      v2(request.method ?? "GET", path, body, response);
      return;
    }
    if (request.method === "POST" && path === "/v1/invoices") {
      setTimeout(
        () =>
          send(response, 422, {
            error: `invoice service rejected customer ${String(body.customerId ?? "")}`,
          }),
        500,
      );
      return;
    }
    send(response, 404, { error: "not found" });
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? EXAMPLES_API_DEFAULT_PORT, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Operation {
  readonly startedAt: number;
  readonly durationMs: number;
  readonly input: Record<string, unknown>;
  cancelled: boolean;
}

/** The `/v2` routes: the long-running conventions of the OpenAPI example. */
function longRunningRoutes(): (
  method: string,
  path: string,
  body: Record<string, unknown>,
  response: ServerResponse,
) => void {
  const operations = new Map<string, Operation>();
  const begin = (prefix: string, body: Record<string, unknown>, defaultSeconds: number): string => {
    const id = `${prefix}-${randomUUID()}`;
    const seconds = Number(body.durationSeconds ?? defaultSeconds);
    operations.set(id, {
      startedAt: Date.now(),
      durationMs: (Number.isFinite(seconds) ? Math.max(0, seconds) : defaultSeconds) * 1000,
      input: body,
      cancelled: false,
    });
    return id;
  };
  const progress = (operation: Operation): number =>
    Math.min(99, Math.floor(((Date.now() - operation.startedAt) / Math.max(1, operation.durationMs)) * 100));
  const finished = (operation: Operation): boolean =>
    Date.now() - operation.startedAt >= operation.durationMs;

  return (method, path, body, response) => {
    const symbol = /^\/v2\/quotes\/([A-Z]{1,5})$/.exec(path)?.[1];
    if (method === "GET" && symbol) {
      const price = [...symbol].reduce((sum, char) => sum + char.charCodeAt(0), 0) / 3;
      send(response, 200, { symbol, price: Math.round(price * 100) / 100, currency: "USD" });
      return;
    }
    if (method === "POST" && (path === "/v2/translations" || path === "/v2/archives")) {
      const translation = path === "/v2/translations";
      const id = begin(translation ? "tr" : "ar", body, translation ? 10 : 3);
      send(
        response,
        202,
        { status: "NotStarted" },
        { "operation-location": `/v2/operations/${id}`, "retry-after": translation ? "2" : "1" },
      );
      return;
    }
    const statusId = /^\/v2\/operations\/((?:tr|ar)-[0-9a-f-]{36})$/.exec(path)?.[1];
    const status = statusId ? operations.get(statusId) : undefined;
    if (statusId && status && method === "DELETE") {
      status.cancelled = true;
      response.writeHead(204).end();
      return;
    }
    if (statusId && status && method === "GET") {
      if (status.cancelled) send(response, 200, { id: statusId, status: "Canceled" });
      else if (!finished(status)) {
        send(
          response,
          200,
          { id: statusId, status: "Running", percentComplete: progress(status) },
          {
            "retry-after": "2",
          },
        );
      } else if (statusId.startsWith("ar-")) {
        send(response, 200, {
          id: statusId,
          status: "Failed",
          error: { code: "MailboxLocked", message: "The mailbox is locked by a retention policy." },
        });
      } else {
        const text = String(status.input.text ?? "");
        send(response, 200, {
          id: statusId,
          status: "Succeeded",
          result: {
            to: status.input.to,
            translation: `[${String(status.input.to)}] ${text}`,
            characters: text.length,
          },
        });
      }
      return;
    }
    if (method === "POST" && path === "/v2/exports") {
      const id = begin("ex", body, 10);
      send(response, 200, {
        name: `exports/operations/${id}`,
        done: false,
        metadata: { progressPercent: 0 },
      });
      return;
    }
    const exportMatch = /^\/v2\/exports\/operations\/(ex-[0-9a-f-]{36})(:cancel)?$/.exec(path);
    const exportOperation = exportMatch ? operations.get(exportMatch[1] as string) : undefined;
    if (exportMatch && exportOperation) {
      const name = `exports/operations/${exportMatch[1]}`;
      if (method === "POST" && exportMatch[2]) {
        exportOperation.cancelled = true;
        send(response, 200, {});
      } else if (method === "GET" && !exportMatch[2]) {
        if (exportOperation.cancelled) {
          send(response, 200, { name, done: true, error: { code: 1, message: "Cancelled by the caller." } });
        } else if (finished(exportOperation)) {
          const table = String(exportOperation.input.table ?? "");
          send(response, 200, {
            name,
            done: true,
            metadata: { progressPercent: 100 },
            response: { table, rows: 1000, file: `${table}.csv` },
          });
        } else {
          send(response, 200, {
            name,
            done: false,
            metadata: { progressPercent: progress(exportOperation) },
          });
        }
      } else send(response, 405, { error: "method not allowed" });
      return;
    }
    send(response, 404, { error: "not found" });
  };
}

function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text === "") return {};
  const value: unknown = JSON.parse(text);
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}
