/**
 * Environment variable names shared by the CDK constructs (which set them) and the Lambda code
 * (which reads them), so the two can never drift apart.
 */
export const ENV = {
  tableName: "JOB_TABLE_NAME",
  queueUrl: "JOB_QUEUE_URL",
  jobTtlSeconds: "JOB_TTL_SECONDS",
  maxReceiveCount: "JOB_MAX_RECEIVE_COUNT",
  resultMaxBytes: "JOB_RESULT_MAX_BYTES",
  resultInlineBytes: "JOB_RESULT_INLINE_BYTES",
  resultBucketName: "JOB_RESULT_BUCKET_NAME",
  resultPresignedUrls: "JOB_RESULT_PRESIGNED_URLS",
  retryBaseSeconds: "WORKER_RETRY_BASE_SECONDS",
  retryMaxSeconds: "WORKER_RETRY_MAX_SECONDS",
  deadlineMarginMs: "WORKER_DEADLINE_MARGIN_MS",
  cancelCheckMs: "WORKER_CANCEL_CHECK_MS",
  leaseMs: "WORKER_LEASE_MS",
  storePatienceMs: "WORKER_STORE_PATIENCE_MS",
  /** Local stack only: "local" (patient, the default) or "deployed" (the deployed functions' AWS call budgets). */
  awsCallPolicy: "AWS_CALL_POLICY",
  /** Local stack only: the function timeout the SQS pollers give each worker invocation. */
  workerTimeoutSeconds: "WORKER_TIMEOUT_SECONDS",
  batchApiCheckSeconds: "BATCH_API_CHECK_SECONDS",
  authMode: "AUTH_MODE",
  apiKeys: "API_KEYS",
  apiKeysSecretArn: "API_KEYS_SECRET_ARN",
  jwtIssuer: "JWT_ISSUER",
  jwtAudience: "JWT_AUDIENCE",
  jwtJwksUrl: "JWT_JWKS_URL",
  jwtRequiredScopes: "JWT_REQUIRED_SCOPES",
  jwtAuthorizationServers: "JWT_AUTHORIZATION_SERVERS",
  allowedOrigins: "ALLOWED_ORIGINS",
  callerMaxActiveJobs: "CALLER_MAX_ACTIVE_JOBS",
  callerMaxStartsPerMinute: "CALLER_MAX_STARTS_PER_MINUTE",
  maxBodyBytes: "MCP_MAX_BODY_BYTES",
  integrationsFile: "INTEGRATIONS_FILE",
  integrationsAllowLoopback: "INTEGRATIONS_ALLOW_LOOPBACK",
  integrationsSecretArn: "INTEGRATIONS_SECRET_ARN",
  callbackAllowedOrigins: "CALLBACK_ALLOWED_ORIGINS",
  defaultCallbackUrl: "DEFAULT_CALLBACK_URL",
  callbackAllowLoopback: "CALLBACK_ALLOW_LOOPBACK",
  webhookSecret: "WEBHOOK_SECRET",
  webhookSecretArn: "WEBHOOK_SECRET_ARN",
  notificationQueueUrl: "NOTIFICATION_QUEUE_URL",
  webhookTimeoutMs: "WEBHOOK_TIMEOUT_MS",
  webhookRetryDelaysSeconds: "WEBHOOK_RETRY_DELAYS_SECONDS",
  webhookMaxAttempts: "WEBHOOK_MAX_ATTEMPTS",
  /** MCP Events: the subscription table (unset: the server offers no events). */
  eventSubscriptionTableName: "EVENT_SUBSCRIPTION_TABLE_NAME",
  /** MCP Events: subscriptions one caller may hold at once. */
  eventSubscriptionLimit: "EVENT_SUBSCRIPTION_LIMIT",
  /** Read by Powertools Metrics too: the CloudWatch namespace of the job metrics. */
  metricsNamespace: "POWERTOOLS_METRICS_NAMESPACE",
  /** Read by Powertools Tracer too: "false" turns X-Ray tracing off (it is off outside Lambda anyway). */
  tracingEnabled: "POWERTOOLS_TRACE_ENABLED",
  awsEndpointDynamoDb: "AWS_ENDPOINT_URL_DYNAMODB",
  awsEndpointSqs: "AWS_ENDPOINT_URL_SQS",
  awsEndpointS3: "AWS_ENDPOINT_URL_S3",
} as const;

/** Locally, `{{secrets.NAME}}` of an integration is read from `SECRET_<NAME>`. */
export const SECRET_ENV_PREFIX = "SECRET_";

export type EnvName = (typeof ENV)[keyof typeof ENV];
