import * as z from "zod";
import type { CompiledIntegration } from "./load.js";

/** What an agent will see of one integration, and how the server will call it. */
export interface IntegrationPreview {
  /** The MCP tool: `start_<name>`. */
  readonly tool: string;
  readonly title: string;
  readonly inputs: ReadonlyArray<{
    readonly name: string;
    readonly type: string;
    readonly required: boolean;
  }>;
  /** `sync`: the first response is the outcome; `long-running`: the job is checked until it ends. */
  readonly mode: "sync" | "long-running";
  /** The request that starts it (`POST https://…/reports`). */
  readonly calls: string;
  /** Where a long-running job is checked; for an imported operation, also what happens on a 202. */
  readonly polls?: string;
  /** What cancel_job sends to the API, if anything. */
  readonly cancels?: string;
  /** The OpenAPI operation it comes from. */
  readonly operationId?: string;
}

/** One preview per integration, as `jobs integrations list` prints them. */
export function previewIntegrations(integrations: readonly CompiledIntegration[]): IntegrationPreview[] {
  return integrations.map(previewIntegration);
}

function previewIntegration({ integration, input, operation }: CompiledIntegration): IntegrationPreview {
  const schema = z.toJSONSchema(input, { io: "input" }) as {
    properties?: Record<string, { type?: unknown }>;
    required?: string[];
  };
  const required = new Set(schema.required ?? []);
  const inputs = Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    type: typeof property.type === "string" ? property.type : "any",
    required: required.has(name),
  }));
  const base = {
    tool: `start_${integration.name}`,
    title: integration.title ?? integration.name,
    inputs,
    calls: `${integration.request.method} ${integration.request.url}`,
  };
  if (operation) {
    const lro = operation.longRunning;
    const headers = "Operation-Location, Azure-AsyncOperation or Location header (in that order)";
    const polls = !lro
      ? `none, unless the API answers 202 with an ${headers}`
      : lro.aip151
        ? `GET ${operation.baseUrl}/<operation name> (AIP-151) until done; the result is its response`
        : `${lro.header ? `the ${headerName(lro.header)} URL` : `the URL in the 202's ${headers}`}` +
          `${lro.finalStateVia ? `; final result via ${lro.finalStateVia}` : ""}`;
    const deletes = operation.cancels.filter((cancel) => cancel.method === "DELETE").map((d) => d.path);
    const aipCancels = operation.cancels.filter((cancel) => cancel.method === "POST");
    const cancels = !lro
      ? undefined
      : lro.aip151
        ? aipCancels.length > 0
          ? `POST ${operation.baseUrl}/<operation name>:cancel`
          : undefined
        : deletes.length > 0
          ? `DELETE on the status resource, when the document declares it (${deletes.slice(0, 3).join(", ")}${deletes.length > 3 ? ", …" : ""})`
          : undefined;
    return {
      ...base,
      mode: lro ? "long-running" : "sync",
      polls,
      ...(cancels ? { cancels } : {}),
      operationId: operation.operationId,
    };
  }
  const { poll } = integration;
  if (!poll) return { ...base, mode: "sync" };
  return {
    ...base,
    mode: "long-running",
    polls: `${poll.method} ${poll.url} every ${poll.everySeconds} s, at most ${poll.maxDurationSeconds} s`,
    ...(poll.cancel ? { cancels: `${poll.cancel.method} ${poll.cancel.url}` } : {}),
  };
}

const HEADER_NAMES: Readonly<Record<string, string>> = {
  "operation-location": "Operation-Location",
  "azure-asyncoperation": "Azure-AsyncOperation",
  location: "Location",
};

function headerName(header: string): string {
  return HEADER_NAMES[header] ?? header;
}

/** The preview as text: one block per tool. */
export function formatPreviews(previews: readonly IntegrationPreview[]): string {
  return previews
    .map((preview) => {
      const inputs = preview.inputs.map((i) => `${i.name} (${i.type}${i.required ? ", required" : ""})`);
      return [
        `${preview.tool}  [${preview.mode}]${preview.operationId ? `  from operation ${preview.operationId}` : ""}`,
        `  inputs: ${inputs.join(", ") || "none"}`,
        `  calls:  ${preview.calls}`,
        ...(preview.polls ? [`  polls:  ${preview.polls}`] : []),
        ...(preview.cancels ? [`  cancel: ${preview.cancels}`] : []),
      ].join("\n");
    })
    .join("\n\n")
    .concat(previews.length > 0 ? "\n" : "");
}
