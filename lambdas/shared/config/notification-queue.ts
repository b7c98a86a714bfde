/**
 * Facts about the notification queue and the delivery function that the CDK constructs, the local
 * stack and the code share.
 */

/**
 * Seconds one delivery invocation may run: a batch's attempts run concurrently, each bounded by
 * WEBHOOK_TIMEOUT_MS (at most 60 s), so this leaves room for the slowest. The queue's visibility
 * timeout is six times this.
 */
export const NOTIFICATION_FUNCTION_TIMEOUT_SECONDS = 90;

/** Receives per notification message before the dead-letter queue: only a crashing handler gets there. */
export const NOTIFICATION_MAX_RECEIVE_COUNT = 5;

/** Notification messages per invocation. */
export const NOTIFICATION_BATCH_SIZE = 10;

/** Delivery invocations at once: bounds the connections to receivers. */
export const NOTIFICATION_MAX_CONCURRENCY = 5;
