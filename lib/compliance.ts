import { type App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";

/**
 * Runs the cdk-nag AwsSolutions and Serverless packs at synth time. Any finding that is not
 * acknowledged (next to the resource it concerns, with its reason) stops `cdk synth` and `cdk deploy`.
 */
export function addComplianceChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
}
