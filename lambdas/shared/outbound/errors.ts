/** Base of every failure of an outbound request; callers map it to retryable or permanent. */
export class OutboundError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The URL or the address it resolves to is not one this deployment may call. Permanent. */
export class OutboundRefusedError extends OutboundError {}

/** The response body passed the policy's cap; the transfer was cut off. Permanent. */
export class OutboundResponseTooLargeError extends OutboundError {
  constructor(readonly maxBytes: number) {
    super(`The response body is larger than ${maxBytes} bytes; it was cut off.`);
  }
}

/** No complete answer within the policy's timeout. Retryable. */
export class OutboundTimeoutError extends OutboundError {
  constructor(readonly timeoutMs: number) {
    super(`No answer within ${Math.round(timeoutMs / 100) / 10} s.`);
  }
}

/** The host did not resolve, or the connection failed or broke. Retryable. */
export class OutboundConnectionError extends OutboundError {}
