import { randomUUID } from "node:crypto";
import { MemoryEventAttemptFence } from "../../lambdas/shared/adapters/memory-event-attempt-fence.js";
import { describeEventAttemptFenceContract } from "./event-attempt-fence.contract.js";

describeEventAttemptFenceContract("MemoryEventAttemptFence", async () => ({
  fenceWith: (clock) => new MemoryEventAttemptFence(clock),
  newJobId: async () => randomUUID(),
}));
