/** Stands in for `ajv-formats` beside the Ajv stand-in (./ajv.ts): there are no formats to add. */
export default function addNoFormats<T>(validator: T): T {
  return validator;
}
