// A Stryker ignorer: mutants inside log calls (`log.info(…)`, `deps.log.warn(…)`) change only what
// is logged, never what the software does, so they are not counted as survivors.
const LOG_METHODS = new Set(["debug", "info", "warn", "error"]);

function isLogCall(node) {
  if (node.type !== "CallExpression" || node.callee.type !== "MemberExpression") return false;
  const { object, property } = node.callee;
  if (property.type !== "Identifier" || !LOG_METHODS.has(property.name)) return false;
  const owner = object.type === "MemberExpression" ? object.property : object;
  return owner.type === "Identifier" && owner.name === "log";
}

export const strykerPlugins = [
  {
    kind: "Ignore",
    name: "log-calls",
    value: {
      shouldIgnore(path) {
        if (path.isExpressionStatement() && isLogCall(path.node.expression))
          return "Only changes a log line.";
        if (path.isAwaitExpression?.() && isLogCall(path.node.argument)) return "Only changes a log line.";
        return undefined;
      },
    },
  },
];
