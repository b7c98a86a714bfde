import { createWebhookHandler } from "../shared/handlers.js";

export const handler = await createWebhookHandler();
