import type { TestProject } from "vitest/node";
import { startEmulators } from "../../local/emulators.js";

/** One DynamoDB Local and one SQS emulator for the whole run; each test file makes its own resources. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const emulators = await startEmulators();
  project.provide("dynamoEndpoint", emulators.dynamoEndpoint);
  project.provide("sqsEndpoint", emulators.sqsEndpoint);
  project.provide("awsRegion", emulators.region);
  return () => emulators.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    sqsEndpoint: string;
    awsRegion: string;
  }
}
