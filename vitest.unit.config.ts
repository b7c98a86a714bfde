import { defineConfig } from "vitest/config";

/**
 * The fast tests: unit tests and the store contract suite against the in-memory store. No
 * emulators start, so this runs in seconds and is what mutation testing runs against each mutant.
 */
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts", "test/contract/memory-*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    maxWorkers: 2,
    // Lambda runs Node 22; the SDK's warning about Node 20 would only add noise to test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
