import { DynamoNotificationStore } from "../../lambdas/shared/adapters/dynamo-notification-store.js";
import { useLocalAws } from "../support/local-aws.js";
import { newJob, storeFor } from "../support/worker-kit.js";
import { describeEventAttemptFenceContract } from "./event-attempt-fence.contract.js";

// The fence lives in the job's row: every claim names a job that exists.
describeEventAttemptFenceContract("DynamoNotificationStore on DynamoDB Local", async () => {
  const aws = await useLocalAws();
  const jobs = storeFor(aws);
  return {
    fenceWith: (clock) =>
      new DynamoNotificationStore({
        client: aws.dynamo,
        tableName: aws.resources.tableName,
        jobs,
        ...(clock ? { clock } : {}),
      }),
    newJobId: async () => (await jobs.create(newJob())).job.id,
  };
});
