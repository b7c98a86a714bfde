/**
 * The layout of the MCP Events subscription table, shared by the CDK construct, the local emulator
 * setup and the DynamoDB adapter. One partition per caller holds that caller's subscriptions, so
 * "every subscription of caller X" is one consistent Query with no index.
 */
export const SUBSCRIPTION_TABLE = {
  /** `caller#<principal>`. */
  partitionKey: "pk",
  /** The subscription id. */
  sortKey: "sk",
  /** Epoch seconds; DynamoDB's TTL deletes expired subscriptions (reads skip them until then). */
  ttlAttribute: "expiresAt",
} as const;

/** Subscriptions one caller may hold at once, unless EVENT_SUBSCRIPTION_LIMIT says otherwise. */
export const DEFAULT_SUBSCRIPTIONS_PER_CALLER = 20;
/** A subscription lives this long unless its subscribe asks for less (`ttlMs`); refreshing renews it. */
export const DEFAULT_SUBSCRIPTION_TTL_MS = 24 * 60 * 60 * 1000;
/** The longest a subscription lives without a refresh, whatever `ttlMs` asks (null included). */
export const MAX_SUBSCRIPTION_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** The shortest lifetime granted. */
export const MIN_SUBSCRIPTION_TTL_MS = 60 * 1000;
