// The in-memory job store lives in memory-job-store/, one file per rule; importers keep this path.
export { MemoryJobStore, type MemoryJobStoreOptions } from "./memory-job-store/job-store.js";
export { MemoryJobTable } from "./memory-job-store/job-table.js";
