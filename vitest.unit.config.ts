import { defineConfig } from "vitest/config";

/**
 * The fast inner loop (`npm run test:unit`): the unit tests and the in-memory half of the job-store
 * contract. No global setup, so no DynamoDB Local and no SQS emulator start.
 */
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts", "test/contract/memory-job-store.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    maxWorkers: 2,
    // Lambda runs Node 22; the SDK's warning about Node 20 would only add noise to test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
