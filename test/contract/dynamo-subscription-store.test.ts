import { DynamoSubscriptionStore } from "../../lambdas/shared/adapters/dynamo-subscription-store.js";
import { useLocalAws } from "../support/local-aws.js";
import { describeSubscriptionStoreContract } from "./subscription-store.contract.js";

describeSubscriptionStoreContract("DynamoSubscriptionStore on DynamoDB Local", async () => {
  const aws = await useLocalAws();
  return (clock) =>
    new DynamoSubscriptionStore({
      client: aws.dynamo,
      tableName: aws.resources.subscriptionTableName,
      ...(clock ? { clock } : {}),
    });
});
