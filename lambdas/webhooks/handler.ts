import { createWebhookHandler } from "../shared/handlers/webhooks.js";

export const handler = await createWebhookHandler();
