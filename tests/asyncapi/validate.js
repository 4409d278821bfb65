// Parse an AsyncAPI document with the official parser and print its diagnostics.
//
// Usage: node validate.js DOCUMENT.json
// Prints one JSON object: {"diagnostics": [{code, message, severity, path}]}, where
// severity is Spectral's: 0 error, 1 warning, 2 information, 3 hint.
'use strict';

const fs = require('fs');
const { Parser } = require('@asyncapi/parser');

async function main() {
  const text = fs.readFileSync(process.argv[2], 'utf8');
  const { diagnostics } = await new Parser().parse(text);
  const found = diagnostics.map((d) => ({
    code: d.code,
    message: d.message,
    severity: d.severity,
    path: d.path,
  }));
  process.stdout.write(JSON.stringify({ diagnostics: found }) + '\n');
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + '\n');
  process.exit(2);
});
