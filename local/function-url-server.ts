import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { LOOPBACK_HOSTS } from "../lambdas/shared/domain/loopback.js";
import { jsonRpcErrorBody } from "../lambdas/shared/http/json-rpc.js";
import type { HttpLambdaHandler } from "../lambdas/shared/mcp/lambda-http.js";
import { fakeLambdaContext } from "./lambda-context.js";

export interface FunctionUrlServerOptions {
  readonly handler: HttpLambdaHandler;
  /** 0 picks a free port. */
  readonly port: number;
  /** Requests are refused past this many body bytes, as the endpoint itself would. */
  readonly maxBodyBytes: number;
  /** The invocation time limit the handler sees, as a Lambda timeout. */
  readonly functionTimeoutMs: number;
}

export interface FunctionUrlServer {
  readonly port: number;
  readonly origin: string;
  close(): Promise<void>;
}

/**
 * Plays a Lambda Function URL on loopback: each HTTP request becomes a payload 2.0 event for the
 * real handler. It also checks `Host`, so a web page cannot reach it through DNS rebinding.
 */
export async function startFunctionUrlServer(options: FunctionUrlServerOptions): Promise<FunctionUrlServer> {
  const server = createServer((request, response) => {
    void serve(options, request, response).catch((error: unknown) => {
      console.error("Local Function URL:", error);
      if (!response.headersSent) response.writeHead(500, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: "internal_error" }));
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return { port, origin: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

async function serve(
  options: FunctionUrlServerOptions,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const host = request.headers.host ?? "";
  const hostname = host.replace(/:\d+$/, "");
  if (!LOOPBACK_HOSTS.has(hostname)) {
    return send(response, 403, { error: "forbidden", message: `Host ${host} is not a loopback name.` });
  }
  const body = await readBody(request, options.maxBodyBytes);
  if (body === "too_large") {
    return send(
      response,
      413,
      jsonRpcErrorBody(-32000, `Payload too large: the limit is ${options.maxBodyBytes} bytes.`),
    );
  }
  const context = fakeLambdaContext({
    functionName: "mcp",
    region: "us-east-1",
    timeoutMs: options.functionTimeoutMs,
  });
  const result = await options.handler(toEvent(request, host, body), context);
  const headers: Record<string, string | string[]> = { ...(result.headers as Record<string, string>) };
  if (result.cookies?.length) headers["set-cookie"] = result.cookies;
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(result.isBase64Encoded ? Buffer.from(result.body ?? "", "base64") : (result.body ?? ""));
}

function toEvent(request: IncomingMessage, host: string, body: Buffer): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? "/", `http://${host}`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const method = request.method ?? "GET";
  const now = new Date();
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ""),
    headers,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: host,
      domainPrefix: "local",
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? "127.0.0.1",
        userAgent: request.headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: body.length > 0,
    ...(body.length > 0 ? { body: body.toString("base64") } : {}),
  };
}

async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer | "too_large"> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      request.resume();
      return "too_large";
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
