import { createDeadLetterHandler } from "../shared/handlers.js";

export const handler = createDeadLetterHandler();
