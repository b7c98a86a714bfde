import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: integration files share one DynamoDB Local and one SQS emulator.
    maxWorkers: 2,
    // Lambda runs Node 22; the SDK's warning about Node 20 would only add noise to test output.
    // Tracing is off outside Lambda anyway; EMF lines of handlers built without a metrics port stay off stdout.
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      POWERTOOLS_TRACE_ENABLED: "false",
      POWERTOOLS_METRICS_DISABLED: "true",
    },
  },
});
