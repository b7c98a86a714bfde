/**
 * `{{…}}` placeholders in an integration's URL, query, headers and body. Values never change a
 * URL's structure: each is percent-encoded as one path segment or one query value, and the
 * scheme, host, port and path layout come from the file alone.
 */

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;
const ONLY_PLACEHOLDER = /^\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}$/;

/** A placeholder could not be filled, or its value would break the request's shape. Permanent. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

/** Resolves a placeholder reference (`input.a.b`, `job.id`, `secrets.KEY`, `response.headers.location`). */
export type Resolve = (reference: string) => unknown;

/** Every placeholder reference in a template, in order. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1] as string);
}

/** The reference when the template is exactly one placeholder (its value keeps its JSON type). */
export function onlyPlaceholder(template: string): string | undefined {
  return ONLY_PLACEHOLDER.exec(template)?.[1];
}

/** Walks dot-separated keys and array indexes (`items.0.id`) into a JSON value. */
export function valueAtPath(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split(".")) {
    if (Array.isArray(current) && /^\d+$/.test(key)) current = current[Number(key)];
    else if (
      typeof current === "object" &&
      current !== null &&
      !Array.isArray(current) &&
      Object.hasOwn(current, key)
    ) {
      current = (current as Record<string, unknown>)[key];
    } else return undefined;
  }
  return current;
}

function asText(reference: string, value: unknown): string {
  if (value === undefined || value === null) throw new TemplateError(`{{${reference}}} has no value.`);
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** Fills a text template; `encode` is applied to each value (not to the template's own text). */
export function renderText(
  template: string,
  resolve: Resolve,
  encode: (text: string) => string = (t) => t,
): string {
  return template.replace(PLACEHOLDER, (_match, reference: string) =>
    encode(asText(reference, resolve(reference))),
  );
}

/** Header values: a value holding a line break or other control character is refused, never sent. */
export function renderHeaders(
  headers: Readonly<Record<string, string>>,
  resolve: Resolve,
): Record<string, string> {
  const rendered: Record<string, string> = {};
  for (const [name, template] of Object.entries(headers)) {
    const value = renderText(template, resolve);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) {
      throw new TemplateError(
        `Header ${name}: a value holds a line break or control character; it was not sent.`,
      );
    }
    rendered[name.toLowerCase()] = value;
  }
  return rendered;
}

/** A JSON body: a string that is exactly one placeholder keeps its value's JSON type (absent: left out). */
export function renderBody(body: unknown, resolve: Resolve): unknown {
  if (typeof body === "string") {
    const only = onlyPlaceholder(body);
    return only ? resolve(only) : renderText(body, resolve);
  }
  if (Array.isArray(body))
    return body.map((item) => renderBody(item, resolve)).filter((item) => item !== undefined);
  if (typeof body === "object" && body !== null) {
    const rendered: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(body)) {
      const filled = renderBody(value, resolve);
      if (filled !== undefined) rendered[key] = filled;
    }
    return rendered;
  }
  return body;
}

/** `https://host:port` of a URL template: the part before the path, which must hold no placeholder. */
export function templateOrigin(template: string): string | undefined {
  return /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(template)?.[0];
}

function encodeSegment(text: string): string {
  // encodeURIComponent leaves "." alone; a whole segment of dots would climb the path, so refuse it.
  return encodeURIComponent(text);
}

/**
 * Builds a URL from a template whose origin is literal, plus `query` entries. Placeholder values in
 * the path are encoded as (part of) one segment; in the query, as one value. The result is checked:
 * same origin, same number of path segments, no segment that is only dots.
 */
export function renderUrl(
  template: string,
  query: Readonly<Record<string, string>> | undefined,
  resolve: Resolve,
): string {
  const origin = templateOrigin(template);
  if (!origin || origin.includes("{{"))
    throw new TemplateError("The URL template must start with a literal origin.");
  const rest = template.slice(origin.length);
  const queryStart = rest.indexOf("?");
  const pathTemplate = queryStart === -1 ? rest : rest.slice(0, queryStart);
  const queryTemplate = queryStart === -1 ? "" : rest.slice(queryStart + 1);

  const templateSegments = pathTemplate.split("/");
  const segments = templateSegments.map((segment) => {
    const filled = renderText(segment, resolve, encodeSegment);
    if (segment !== filled && (filled === "." || filled === "..")) {
      throw new TemplateError("A path value of only dots would change the URL's path; it was not sent.");
    }
    return filled;
  });

  const pairs: string[] = [];
  const addPair = (key: string, valueTemplate: string, encodeKey: boolean): void => {
    const only = onlyPlaceholder(valueTemplate);
    if (only !== undefined && (resolve(only) === undefined || resolve(only) === null)) return;
    const value = renderText(valueTemplate, resolve, encodeURIComponent);
    pairs.push(`${encodeKey ? encodeURIComponent(key) : key}=${value}`);
  };
  if (queryTemplate !== "") {
    for (const pair of queryTemplate.split("&")) {
      const equals = pair.indexOf("=");
      if (equals === -1) pairs.push(pair);
      else addPair(pair.slice(0, equals), pair.slice(equals + 1), false);
    }
  }
  for (const [key, valueTemplate] of Object.entries(query ?? {})) addPair(key, valueTemplate, true);

  const built = `${origin}${segments.join("/")}${pairs.length > 0 ? `?${pairs.join("&")}` : ""}`;
  const parsed = new URL(built);
  const expectedSegments = pathTemplate === "" ? 2 : templateSegments.length;
  if (parsed.origin !== new URL(origin).origin || parsed.pathname.split("/").length !== expectedSegments) {
    throw new TemplateError("A value would change the URL's structure; it was not sent.");
  }
  return parsed.href;
}

/** A URL taken whole from the submit response (e.g. `Location`): resolved against the request, same origin only. */
export function resolveResponseUrl(value: unknown, requestUrl: string, reference: string): string {
  if (typeof value !== "string" || value === "") {
    throw new TemplateError(`The submit response has no {{${reference}}} to poll.`);
  }
  let url: URL;
  try {
    url = new URL(value, requestUrl);
  } catch {
    throw new TemplateError(`{{${reference}}} of the submit response is not a URL.`);
  }
  if (url.origin !== new URL(requestUrl).origin) {
    throw new TemplateError(
      `{{${reference}}} of the submit response points to another origin (${url.origin}); refused.`,
    );
  }
  url.hash = "";
  return url.href;
}

/** Replaces every secret value in a text, so an echoed secret never reaches an error, log or result. */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  let redacted = text;
  for (const secret of secrets) {
    if (secret.length > 0) redacted = redacted.split(secret).join("[redacted]");
  }
  return redacted;
}
