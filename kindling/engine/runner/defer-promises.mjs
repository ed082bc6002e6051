// `get('/x').then(f).catch(g)` at the top of a job would otherwise call .then on the operation
// function itself (operations are functions of state, not promises). It becomes
// `_defer(get('/x'), p => p.then(f).catch(g))`: the runtime's defer() runs the operation and hands
// its result promise to the chain. A .catch right after the operation is passed separately, because
// defer() also calls it with the state: `_defer(op, undefined, g)`.
import { builders as b, namedTypes as n } from 'ast-types';

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

// Rewrites top-level statements and elements of a top-level `export default [...]`. Returns a map
// from each new _defer(...) call to the operation call it wraps, so the operation list can name it.
export function deferPromiseChains(program) {
  const deferred = new Map();
  const rewrite = (expression) => {
    if (!isThenOrCatch(expression)) {
      return expression;
    }
    const result = deferChain(expression);
    if (!result) {
      return expression;
    }
    deferred.set(result.call, result.operation);
    return result.call;
  };

  for (const statement of program.body) {
    if (n.ExpressionStatement.check(statement)) {
      statement.expression = rewrite(statement.expression);
    } else if (n.ExportDefaultDeclaration.check(statement) && n.ArrayExpression.check(statement.declaration)) {
      statement.declaration.elements = statement.declaration.elements.map((element) => rewrite(element));
    }
  }
  return deferred;
}
