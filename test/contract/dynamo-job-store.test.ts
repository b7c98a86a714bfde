import { useLocalAws } from "../support/local-aws.js";
import { storeFor } from "../support/worker-kit.js";
import { describeJobStoreContract } from "./job-store.contract.js";

// DynamoDB Local, one fresh table; DynamoDB-only cases stay in test/integration/job-store.test.ts.
describeJobStoreContract("DynamoJobStore on DynamoDB Local", async () => {
  const aws = await useLocalAws();
  return (clock) => storeFor(aws, clock);
});
