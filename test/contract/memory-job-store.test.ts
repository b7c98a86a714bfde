import { MemoryJobStore } from "../../lambdas/shared/adapters/memory-job-store.js";
import { describeJobStoreContract } from "./job-store.contract.js";

describeJobStoreContract("MemoryJobStore", async () => {
  const rows = new MemoryJobStore();
  return (clock) => (clock ? rows.withClock(clock) : rows);
});
