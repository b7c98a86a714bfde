/** Two job types share a name: each would be `start_<name>`, and the worker could not tell them apart. */
export class DuplicateJobTypeError extends Error {
  constructor(
    readonly jobTypeName: string,
    first: string,
    second: string,
  ) {
    super(`Two job types are named "${jobTypeName}": ${first} and ${second}. Rename one of them.`);
    this.name = "DuplicateJobTypeError";
  }
}

/**
 * Refuses two job types of one name. `origin` says where a type comes from (e.g. `job type "x" of
 * jobTypesModule …`), so the message names both.
 */
export function checkJobTypeNames<Named extends { readonly name: string }>(
  types: readonly Named[],
  origin: (type: Named, index: number) => string = (type) => `job type "${type.name}"`,
): void {
  const first = new Map<string, string>();
  types.forEach((type, index) => {
    const where = origin(type, index);
    const earlier = first.get(type.name);
    if (earlier !== undefined) throw new DuplicateJobTypeError(type.name, earlier, where);
    first.set(type.name, where);
  });
}
