import { UnknownJobTypeError } from "../domain/errors.js";
import { createBatchApi } from "./batch-api.js";
import { DEFAULT_BATCH_API_CHECK_SECONDS } from "./demo-contract.js";
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

export function createJobTypeRegistry(types: readonly JobType[] = JOB_TYPES): JobTypeRegistry {
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
