// The DynamoDB job store lives in dynamo-job-store/, one file per rule; importers keep this path.
export { DynamoJobStore, type DynamoJobStoreOptions } from "./dynamo-job-store/job-store.js";
