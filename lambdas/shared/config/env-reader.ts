import * as z from "zod";

/** Config is parsed once at cold start, so a bad value fails at once and names the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export type Env = Record<string, string | undefined>;

export function integer(min: number, max: number, fallback: number): z.ZodType<number> {
  return z.coerce.number().int().min(min).max(max).default(fallback);
}

/** Each config field: the variable it comes from and the schema its value must meet. */
export type EnvSpec = Record<string, readonly [name: string, schema: z.ZodType]>;
export type EnvConfig<Spec extends EnvSpec> = { readonly [Field in keyof Spec]: z.output<Spec[Field][1]> };

/** Reads every variable of `spec` at once, so one error lists every bad variable by name. */
export function readEnv<Spec extends EnvSpec>(spec: Spec, env: Env): EnvConfig<Spec> {
  const shape = Object.fromEntries(Object.values(spec).map(([name, schema]) => [name, schema]));
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
  }
  const values = result.data as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(spec).map(([field, [name]]) => [field, values[name]]),
  ) as EnvConfig<Spec>;
}

/** An optional text variable; blank counts as unset. */
export const optionalText = z
  .string()
  .optional()
  .transform((value) => (value?.trim() ? value.trim() : undefined));

/** "true" or "false", default false. */
export const flag = z
  .enum(["true", "false"], { message: 'must be "true" or "false"' })
  .default("false")
  .transform((value) => value === "true");
