/**
 * Which folder may import which: imports point inward (domain at the centre, the Lambda entries,
 * the stack, the CLI and the local stack outside). `npm run lint:imports` checks every rule;
 * `npm test` runs it first, so a wrong-way import fails the build with the rule's name.
 */
const SHARED = "^lambdas/shared/";

module.exports = {
  forbidden: [
    {
      name: "no-import-cycles",
      severity: "error",
      comment: "A cycle makes two modules one; move what both need to where it belongs.",
      from: { path: "^(lambdas|lib|bin|cli|local)/" },
      to: { circular: true },
    },
    {
      name: "domain-imports-only-domain",
      severity: "error",
      comment: "The domain is the centre: job model, errors, ports. It imports nothing else of ours.",
      from: { path: `${SHARED}domain/` },
      to: { path: "^(lambdas|lib|bin|cli|local|bench|test)/", pathNot: `${SHARED}domain/` },
    },
    {
      name: "auth-knows-no-mcp",
      severity: "error",
      comment:
        "Authentication is HTTP's, not the protocol's: shared HTTP answers live in lambdas/shared/http/.",
      from: { path: `${SHARED}auth/` },
      to: { path: `${SHARED}(mcp|worker|usecases)/` },
    },
    {
      name: "cli-ships-without-the-local-stack",
      severity: "error",
      comment:
        "The packaged `jobs` CLI runs against any deployment; local/, bench/ and test/ are not in the package.",
      from: { path: "^(cli|bin/jobs\\.ts)" },
      to: { path: "^(local|bench|test)/" },
    },
    {
      name: "stack-does-not-load-the-runtime",
      severity: "error",
      comment:
        "The CDK app reads names, limits and the integrations file, never the job runtime: use config/, domain/, jobs/demo-contract.ts or jobs/job-type-names.ts.",
      from: { path: "^(lib|bin/app\\.ts)" },
      to: {
        path: `${SHARED}(jobs|worker|mcp|usecases|adapters|auth|outbound)/`,
        pathNot: `${SHARED}jobs/(demo-contract|job-type-names)\\.ts$`,
      },
    },
    {
      name: "settings-come-in-to-the-worker",
      severity: "error",
      comment: "The worker core is given its settings; it does not read the environment's config.",
      from: { path: `${SHARED}worker/` },
      to: { path: `${SHARED}config/` },
    },
    {
      name: "config-knows-no-runtime",
      severity: "error",
      comment: "Config parses the environment; it knows no adapter, use case, worker or protocol.",
      from: { path: `${SHARED}config/` },
      to: { path: `${SHARED}(adapters|usecases|worker|mcp|auth|integrations|outbound)/` },
    },
    {
      name: "adapters-implement-ports",
      severity: "error",
      comment: "An adapter implements a domain port; ports live in domain/, never in a use case.",
      from: { path: `${SHARED}adapters/` },
      to: { path: `${SHARED}(usecases|worker|mcp|auth|integrations)/` },
    },
    {
      name: "integrations-use-no-auth",
      severity: "error",
      comment: "Secrets come through adapters/secrets-manager.ts, not the caller authentication.",
      from: { path: `${SHARED}integrations/` },
      to: { path: `${SHARED}auth/` },
    },
    {
      name: "job-types-read-no-config",
      severity: "error",
      comment: "A job type is given its settings; it does not read the deployment's config.",
      from: { path: `${SHARED}jobs/` },
      to: { path: `${SHARED}config/` },
    },
    {
      name: "composition-is-outermost",
      severity: "error",
      comment:
        "lambdas/shared/app/ builds each function from its parts; the parts never reach back for the builder.",
      from: {
        path: `${SHARED}(domain|usecases|worker|mcp|adapters|auth|config|jobs|integrations|outbound|http)/`,
      },
      to: { path: `${SHARED}(app|handlers)(/|\\.ts$)` },
    },
    {
      name: "runtime-stays-inside",
      severity: "error",
      comment: "The functions' code never imports the stack, the CLI, the local stack, benchmarks or tests.",
      from: { path: "^lambdas/" },
      to: { path: "^(lib|bin|cli|local|bench|test)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
    },
  },
};
