/**
 * A POST body read once, up to `maxBodyBytes`, and parsed as JSON when it is JSON. The MCP front door
 * hands the parsed body to whichever door takes the request, so neither reads the request again.
 */
export type JsonBody =
  | { readonly kind: "json"; readonly parsedBody: unknown }
  /** Empty or no JSON: the doors read it themselves (and answer as the SDKs do), from `request`'s copy. */
  | { readonly kind: "not-json"; readonly parsedBody?: undefined; readonly request: Request }
  | { readonly kind: "too-large"; readonly parsedBody?: undefined };

export async function readJsonBody(request: Request, maxBodyBytes: number): Promise<JsonBody> {
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > maxBodyBytes) return { kind: "too-large" };
  const text = new TextDecoder().decode(bytes);
  try {
    if (text.trim().length > 0) return { kind: "json", parsedBody: JSON.parse(text) };
  } catch {
    // Not JSON: the door that takes the request answers the parse error.
  }
  return {
    kind: "not-json",
    request: new Request(request.url, { method: request.method, headers: request.headers, body: text }),
  };
}
