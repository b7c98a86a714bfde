import { MemorySubscriptionStore } from "../../lambdas/shared/adapters/memory-subscription-store.js";
import type { Clock } from "../../lambdas/shared/domain/ports.js";
import { describeSubscriptionStoreContract } from "./subscription-store.contract.js";

describeSubscriptionStoreContract("MemorySubscriptionStore", async () => {
  const shared = new MemorySubscriptionStore();
  return (clock?: Clock) => (clock ? shared.withClock(clock) : shared);
});
