// Lazy state: `get($.data.url)` means "read state.data.url when the operation runs", so it becomes
// `get(state => state.data.url)`. The arrow wraps the whole argument of the nearest call that holds
// the `$` chain, as OpenFn's compiler does: `fn(JSON.stringify($.data))` wraps JSON.stringify's
// argument, not fn's. Jobs written for OpenFn rely on exactly this, so we do not try to be smarter.
import { builders as b, namedTypes as n, visit } from 'ast-types';
import { CompileError, describePosition } from './parse.mjs';

function isDeclaredInScope(path, name) {
  for (let scope = path.scope; scope; scope = scope.parent) {
    if (scope.declares(name)) {
      return true;
    }
  }
  return false;
}

function misplaced(identifier, why) {
  const { loc } = identifier;
  return new CompileError(`Invalid use of $ at ${describePosition(loc.start)}: ${why}`, loc.start.line, loc.start.column + 1);
}

// Walk up from the `$` to the argument of the nearest call that contains it. Crossing a statement
// first means `$` is not inside any operation's arguments.
function findEnclosingArgument(path) {
  let child = path;
  for (let parent = path.parent; parent; child = parent, parent = parent.parent) {
    const node = parent.node;
    if (n.CallExpression.check(node)) {
      const index = node.arguments.indexOf(child.node);
      if (index >= 0) {
        return { call: node, index };
      }
    } else if (n.Statement.check(node) || n.Program.check(node)) {
      return null;
    }
  }
  return null;
}

function isFunction(node) {
  return n.ArrowFunctionExpression.check(node) || n.FunctionExpression.check(node);
}

// An argument that already is `state => ...` needs no wrapping; any other function would make the
// renamed `state` point somewhere else than the function's own parameter, so we refuse it.
function alreadyTakesState(argument, identifier) {
  if (!isFunction(argument)) {
    return false;
  }
  const { params } = argument;
  if (params.length === 1 && n.Identifier.check(params[0]) && params[0].name === 'state') {
    return true;
  }
  throw misplaced(identifier, 'it is inside a function that does not take state as its only parameter; use state there instead of $');
}

export function convertLazyState(file) {
  const uses = [];
  visit(file, {
    visitIdentifier(path) {
      const { node } = path;
      const startsChain = path.name === 'object' && n.MemberExpression.check(path.parent.node);
      if (node.name === '$' && startsChain && !isDeclaredInScope(path, '$')) {
        const target = findEnclosingArgument(path);
        if (!target) {
          throw misplaced(node, '$ must be inside an operation, as an argument like get($.data.url); inside a function, use state instead');
        }
        uses.push({ identifier: node, target });
      }
      this.traverse(path);
    },
  });

  // Mutate only after the walk, so the walk never sees half-rewritten parents. Several `$` can share
  // one argument (`get($.a + $.b)`): it is wrapped once.
  const wrapped = new Set();
  for (const { identifier, target } of uses) {
    const argument = target.call.arguments[target.index];
    if (!wrapped.has(argument) && !alreadyTakesState(argument, identifier)) {
      const arrow = b.arrowFunctionExpression([b.identifier('state')], argument);
      target.call.arguments[target.index] = arrow;
      wrapped.add(arrow);
    }
    identifier.name = 'state';
  }
}
