/**
 * Stands in for `ajv` in the Lambda bundles (an esbuild alias, lib/lambda-function.ts). The MCP SDK's
 * server builds a JSON Schema validator at construction but uses it only to check the answers to
 * form elicitations, which this server never requests; leaving Ajv out saves about 130 KiB of
 * bundle that every cold start would parse. Anything that does ask it to validate is told so.
 */
export default class BundledWithoutAjv {
  getSchema(): undefined {
    return undefined;
  }

  compile(): never {
    throw new Error(
      "JSON Schema validation (Ajv) is not bundled in this function: the MCP server here requests no form elicitation.",
    );
  }
}
