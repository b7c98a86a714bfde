import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { integrationsJsonSchema } from "../lambdas/shared/integrations/file-schema.js";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** `npm run integrations:schema`: regenerates the published JSON Schema of the integrations file. */
export const INTEGRATIONS_SCHEMA_FILE = join(REPO_ROOT, "integrations", "integrations.schema.json");

export function integrationsSchemaText(): string {
  return `${JSON.stringify(integrationsJsonSchema(), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(INTEGRATIONS_SCHEMA_FILE, integrationsSchemaText());
  console.log(`Wrote ${INTEGRATIONS_SCHEMA_FILE}`);
}
