import { MemoryJobStore } from "../../lambdas/shared/adapters/memory-job-store.js";
import { MemoryNotificationStore } from "../../lambdas/shared/adapters/memory-notification-store.js";
import { describeNotificationStoreContract } from "./notification-store.contract.js";

describeNotificationStoreContract("MemoryNotificationStore", async () => {
  const shared = new MemoryJobStore();
  return (clock) => {
    const jobs = clock ? shared.withClock(clock) : shared;
    return { notifications: new MemoryNotificationStore({ jobs, ...(clock ? { clock } : {}) }), jobs };
  };
});
