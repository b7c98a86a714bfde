/**
 * What the deployment knows of the demo job types without loading them: their names (the stack
 * reserves them against integrations) and the one setting it passes them. The registry's own test
 * keeps these names equal to the job types it builds.
 */
export const DEMO_JOB_TYPE_NAMES = [
  "slow_api",
  "failing_api",
  "flaky_api",
  "hung_api",
  "batch_api",
  "export_api",
] as const;

/** Seconds between the demo batch service's checks (`BATCH_API_CHECK_SECONDS`). */
export const DEFAULT_BATCH_API_CHECK_SECONDS = 15;
