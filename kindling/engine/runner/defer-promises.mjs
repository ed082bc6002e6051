// `get('/x').then(f).catch(g)` at the top of a job would otherwise call .then on the operation
// function itself (operations are functions of state, not promises). It becomes
// `_defer(get('/x'), p => p.then(f).catch(g))`: the runtime's defer() runs the operation and hands
// its result promise to the chain. A .catch right after the operation is passed separately, because
// defer() also calls it with the state: `_defer(op, undefined, g)`.
import { builders as b, namedTypes as n, visit } from 'ast-types';

export const DEFER_LOCAL_NAME = '_defer';

function isThenOrCatch(node) {
  return (
    n.CallExpression.check(node) &&
    n.MemberExpression.check(node.callee) &&
    !node.callee.computed &&
    n.Identifier.check(node.callee.property) &&
    /^(then|catch)$/.test(node.callee.property.name)
  );
}

// Returns the replacement call, or null when the chain does not start at an operation call.
function deferChain(expression) {
  const links = [];
  let node = expression;
  while (isThenOrCatch(node)) {
    links.unshift(node);
    node = node.callee.object;
  }
  const operation = node;
  if (!n.CallExpression.check(operation)) {
    return null;
  }

  let onError = null;
  let rest = links;
  if (links[0].callee.property.name === 'catch') {
    // `.catch()` without a handler lets the rejection through, as defer() does without one.
    onError = links[0].arguments[0] ?? null;
    rest = links.slice(1);
  }

  // Re-root the remaining links on `p`, the promise of the operation's result.
  let chain = b.identifier('p');
  for (const link of rest) {
    link.callee.object = chain;
    chain = link;
  }

  const args = [operation];
  if (rest.length) {
    args.push(b.arrowFunctionExpression([b.identifier('p')], chain));
  } else if (onError) {
    args.push(b.identifier('undefined'));
  }
  if (onError) {
    args.push(onError);
  }
  return { call: b.callExpression(b.identifier(DEFER_LOCAL_NAME), args), operation };
}

// Rewrites every promise chain that runs when the module loads: at the top level, inside the
// arguments of a top-level call (`each(..., post(...).then(f))`) or in the exported array, as OpenFn
// does. A chain inside a function or a block is the job's own code at run time and stays as written.
// Returns a map from each new _defer(...) call to the operation call it wraps, so the operation list
// can name it.
export function deferPromiseChains(program) {
  const deferred = new Map();
  visit(program, {
    visitFunction() {
      return false;
    },
    visitBlockStatement() {
      return false;
    },
    visitClassBody() {
      return false;
    },
    visitCallExpression(path) {
      const result = isThenOrCatch(path.node) ? deferChain(path.node) : null;
      if (!result) {
        this.traverse(path);
        return undefined;
      }
      deferred.set(result.call, result.operation);
      path.replace(result.call);
      return false;
    },
  });
  return deferred;
}
