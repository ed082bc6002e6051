// Parse job source into a recast File AST (acorn underneath), so that printing later reuses the
// original text of every node we did not touch.
import * as acorn from 'acorn';
import * as recast from 'recast';

export const SOURCE_FILE_NAME = 'job.js';

export class CompileError extends Error {
  constructor(message, line, column) {
    super(message);
    this.name = 'CompileError';
    this.line = line;
    this.column = column;
  }
}

// Columns are reported 1-based, as editors (Monaco) show them; acorn counts from 0.
export function describePosition(loc) {
  return `line ${loc.line}, column ${loc.column + 1}`;
}

// ast-types (which recast walks and prints with) predates two ESTree node types that acorn emits for
// class fields and private names. Rename them to the ast-types equivalents so that visiting a job
// with a class in it does not throw; recast still prints them from the original text.
function normaliseForAstTypes(node) {
  if (Array.isArray(node)) {
    node.forEach(normaliseForAstTypes);
    return;
  }
  if (!node || typeof node !== 'object' || typeof node.type !== 'string') {
    return;
  }
  for (const key of Object.keys(node)) {
    if (key !== 'loc') {
      normaliseForAstTypes(node[key]);
    }
  }
  if (node.type === 'PrivateIdentifier') {
    const id = { type: 'Identifier', name: node.name, start: node.start, end: node.end, loc: node.loc };
    node.type = 'PrivateName';
    node.id = id;
    delete node.name;
  } else if (node.type === 'PropertyDefinition') {
    node.type = node.key.type === 'PrivateName' ? 'ClassPrivateProperty' : 'ClassProperty';
  }
}

const acornForRecast = {
  parse(source) {
    const comments = [];
    const tokens = [];
    const program = acorn.parse(source, {
      ecmaVersion: 'latest',
      sourceType: 'module',
      allowHashBang: true,
      locations: true,
      onComment: comments,
      onToken: tokens,
    });
    normaliseForAstTypes(program);
    program.comments = comments;
    program.tokens = tokens;
    return program;
  },
};

export function parse(source) {
  try {
    return recast.parse(source, { parser: acornForRecast, sourceFileName: SOURCE_FILE_NAME });
  } catch (e) {
    if (e instanceof SyntaxError && e.loc) {
      // acorn appends "(line:column)" to its message; we say it in words instead.
      const reason = e.message.replace(/\s*\(\d+:\d+\)$/, '');
      throw new CompileError(`Syntax error at ${describePosition(e.loc)}: ${reason}`, e.loc.line, e.loc.column + 1);
    }
    throw e;
  }
}
