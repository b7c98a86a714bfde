import * as z from "zod";
import { EventsRequestError } from "../domain/events.js";
import type { Log } from "../domain/logger.js";
import type { EventSubscriptions } from "../usecases/event-subscriptions.js";

/**
 * MCP Events on both doors. The use case is loaded on first use, so the events code (and its
 * outbound challenge) stays off the MCP function's cold start.
 */
export type LoadEvents = () => Promise<EventSubscriptions>;

/** The three methods, era-blind: the same names and shapes on the 2025-11-25 and 2026-07-28 doors. */
export const EVENTS_METHODS = ["events/list", "events/subscribe", "events/unsubscribe"] as const;
export type EventsMethod = (typeof EVENTS_METHODS)[number];

/** Top-level `capabilities.events`, as the Events draft and its clients look for it. */
export const EVENTS_CAPABILITY = { events: {} } as const;

/** Params pass through to the use case, which checks them with its own schemas (for a clear -32602). */
export const EventsParams = z.looseObject({}).optional();

/** A refused request as the door answers it: a JSON-RPC error with this code, message and data. */
export interface EventsRpcError {
  readonly code: number;
  readonly message: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

/** What SDK v1 sends as is: its own `McpError` would prefix the message with the code. */
export class EventsRpcFailure extends Error implements EventsRpcError {
  readonly code: number;
  readonly data?: Readonly<Record<string, unknown>>;

  constructor(error: EventsRpcError) {
    super(error.message);
    this.code = error.code;
    if (error.data !== undefined) this.data = error.data;
  }
}

export type EventsAnswer =
  | { readonly ok: true; readonly result: Record<string, unknown> }
  | { readonly ok: false; readonly error: EventsRpcError };

/** Runs one events/* request for a verified caller; the doors only turn the answer into their SDK's shapes. */
export async function answerEvents(
  load: LoadEvents,
  method: EventsMethod,
  params: Record<string, unknown> | undefined,
  owner: string,
  log: Log,
): Promise<EventsAnswer> {
  const { _meta: _envelope, ...rest } = params ?? {};
  try {
    const events = await load();
    switch (method) {
      case "events/list":
        return { ok: true, result: { ...events.list() } };
      case "events/subscribe":
        return { ok: true, result: { ...(await events.subscribe(owner, rest)) } };
      case "events/unsubscribe":
        return { ok: true, result: await events.unsubscribe(owner, rest) };
    }
  } catch (error) {
    if (error instanceof EventsRequestError) {
      return {
        ok: false,
        error: { code: error.code, message: error.message, ...(error.data ? { data: error.data } : {}) },
      };
    }
    log.error("Events request failed unexpectedly", { method, error });
    return {
      ok: false,
      error: {
        code: -32603,
        message: "Internal error: the request could not be completed. Try again shortly.",
      },
    };
  }
}
