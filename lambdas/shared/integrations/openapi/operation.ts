/** How the API reports the end of a long-running operation: what the final result is read from. */
export type FinalStateVia = "location" | "original-uri" | "operation-location" | "azure-async-operation";

export const FINAL_STATE_VIA: readonly FinalStateVia[] = [
  "location",
  "original-uri",
  "operation-location",
  "azure-async-operation",
];

/** One credential the request carries, filled from a secret when the request is sent. */
export interface OperationAuth {
  readonly in: "header" | "query";
  /** Header or query parameter name. */
  readonly name: string;
  readonly secret: string;
  /** raw: the secret as is; bearer: `Bearer <secret>`; basic: `Basic base64(<secret>)` (the secret is user:password). */
  readonly format: "raw" | "bearer" | "basic";
}

/** A cancel request the document declares: a DELETE on a status resource, or AIP-151's `POST …:cancel`. */
export interface DeclaredCancel {
  readonly method: "DELETE" | "POST";
  /** The path template, relative to the base URL (`/operations/{id}`, `/{name}:cancel`). */
  readonly path: string;
}

/** One imported OpenAPI operation, as the runtime calls it. */
export interface OpenApiOperation {
  readonly operationId: string;
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Absolute, without a trailing slash. */
  readonly baseUrl: string;
  /** The document's path template (`/reports/{reportId}`). */
  readonly path: string;
  readonly pathParameters: readonly string[];
  readonly queryParameters: readonly string[];
  readonly headerParameters: readonly string[];
  /** The JSON request body is the input property `body`. */
  readonly hasBody: boolean;
  readonly auth: readonly OperationAuth[];
  /** Declared long-running (a 202 response or x-ms-long-running-operation); absent: seen at run time only. */
  readonly longRunning?: {
    readonly finalStateVia?: FinalStateVia;
    /** The response is an AIP-151 operation (`name`, `done`). */
    readonly aip151: boolean;
    /** The polling header the 202 response declares, when it declares one. */
    readonly header?: string;
  };
  readonly cancels: readonly DeclaredCancel[];
  /** Origins besides the base URL's that polling and result URLs may use. */
  readonly allowedOrigins: readonly string[];
  /** Seconds between checks when the API sends no Retry-After. */
  readonly everySeconds: number;
  /** Past this many seconds after the submit the job fails with deadline_exceeded. */
  readonly maxDurationSeconds: number;
}

/** The polling headers (lower case), in the precedence `@azure/core-lro` uses. */
export const POLLING_HEADERS = ["operation-location", "azure-asyncoperation", "location"] as const;
