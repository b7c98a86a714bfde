import { ExternalApiError } from "../../domain/errors.js";
import type { SecretValues } from "../integration-job-type.js";
import { TemplateError } from "../templates.js";
import type { OpenApiOperation } from "./operation.js";

/** One HTTP request of an imported operation, before its credentials are added. */
export interface OutgoingRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/** The credentials the document's security schemes ask for, on the base origin and the allowed ones. */
export function authorize(
  request: OutgoingRequest,
  secrets: SecretValues,
  operation: OpenApiOperation,
  trusted: ReadonlySet<string>,
): OutgoingRequest {
  const url = new URL(request.url);
  if (!trusted.has(url.origin)) return request;
  const headers = { ...request.headers };
  for (const auth of operation.auth) {
    const secret = secrets[auth.secret];
    if (secret === undefined) {
      throw new ExternalApiError(
        `The secret ${auth.secret} is not configured on this server.`,
        false,
        "secret_missing",
      );
    }
    const value =
      auth.format === "bearer"
        ? `Bearer ${secret}`
        : auth.format === "basic"
          ? `Basic ${Buffer.from(secret).toString("base64")}`
          : secret;
    if (auth.in === "query") url.searchParams.set(auth.name, value);
    else headers[auth.name.toLowerCase()] = value;
  }
  return { ...request, url: url.href, headers };
}

/** The operation's request for the tool's input: path, query and header parameters, and the body. */
export function submitRequest(operation: OpenApiOperation, values: Record<string, unknown>): OutgoingRequest {
  let path = operation.path;
  for (const name of operation.pathParameters) {
    const text = asText(values[name]);
    if (text === undefined) throw new TemplateError(`The path parameter ${name} has no value.`);
    if (text === "." || text === "..") {
      throw new TemplateError("A path value of only dots would change the URL's path; it was not sent.");
    }
    path = path.split(`{${name}}`).join(encodeURIComponent(text));
  }
  const url = new URL(`${operation.baseUrl}${path}`);
  for (const name of operation.queryParameters) {
    const text = asText(values[name]);
    if (text !== undefined) url.searchParams.append(name, text);
  }
  const headers: Record<string, string> = {};
  for (const name of operation.headerParameters) {
    const text = asText(values[name]);
    if (text === undefined) continue;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(text)) {
      throw new TemplateError(
        `Header ${name}: the value holds a line break or control character; it was not sent.`,
      );
    }
    headers[name.toLowerCase()] = text;
  }
  const hasBody = operation.hasBody && values.body !== undefined;
  if (hasBody) headers["content-type"] = "application/json";
  return {
    method: operation.method,
    url: url.href,
    headers,
    ...(hasBody ? { body: JSON.stringify(values.body) } : {}),
  };
}

function asText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : String(value);
}
