import { DynamoNotificationStore } from "../../lambdas/shared/adapters/dynamo-notification-store.js";
import { useLocalAws } from "../support/local-aws.js";
import { storeFor } from "../support/worker-kit.js";
import { describeNotificationStoreContract } from "./notification-store.contract.js";

// DynamoDB Local, one fresh table; the notification store reads through the job store over it.
describeNotificationStoreContract("DynamoNotificationStore on DynamoDB Local", async () => {
  const aws = await useLocalAws();
  return (clock) => {
    const jobs = storeFor(aws, clock);
    const notifications = new DynamoNotificationStore({
      client: aws.dynamo,
      tableName: aws.resources.tableName,
      jobs,
      ...(clock ? { clock } : {}),
    });
    return { notifications, jobs };
  };
});
