import { DEFAULT_BATCH_API_CHECK_SECONDS } from "../config/table-schema.js";
import { UnknownJobTypeError } from "../domain/errors.js";
import { createBatchApi } from "./batch-api.js";
import { exportApi } from "./export-api.js";
import { failingApi } from "./failing-api.js";
import { flakyApi } from "./flaky-api.js";
import { hungApi } from "./hung-api.js";
import type { JobType } from "./job-type.js";
import { slowApi } from "./slow-api.js";

/** Every job type the system serves, with the settings some of them take from config. */
export function jobTypesWith(settings: { readonly batchApiCheckSeconds: number }): readonly JobType[] {
  return [
    slowApi,
    failingApi,
    flakyApi,
    hungApi,
    createBatchApi({ checkSeconds: settings.batchApiCheckSeconds }),
    exportApi,
  ];
}

/** Every job type the system serves; each gets a `start_<name>` tool. */
export const JOB_TYPES: readonly JobType[] = jobTypesWith({
  batchApiCheckSeconds: DEFAULT_BATCH_API_CHECK_SECONDS,
});

export interface JobTypeRegistry {
  readonly all: readonly JobType[];
  get(name: string): JobType;
}

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
export function checkJobTypeNames<Named extends Pick<JobType, "name">>(
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

export function createJobTypeRegistry(types: readonly JobType[] = JOB_TYPES): JobTypeRegistry {
  checkJobTypeNames(types);
  const byName = new Map(types.map((type) => [type.name, type]));
  return {
    all: types,
    get(name) {
      const type = byName.get(name);
      if (!type) throw new UnknownJobTypeError(name);
      return type;
    },
  };
}
