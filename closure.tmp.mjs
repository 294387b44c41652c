import * as esbuild from 'esbuild';
const [entry, ...roots] = process.argv.slice(2);
const r = await esbuild.build({ entryPoints: [entry], bundle: true, metafile: true, write: false, platform: 'node', format: 'cjs', target: 'node20', external: ['better-sqlite3', 'bindings'], logLevel: 'silent', define: { __STELLA_CONSOLE__: '"{}"' } });
const inputs = r.metafile.inputs;
const seen = new Set(); const stack = [...(roots.length ? roots : [entry])];
while (stack.length) { const f = stack.pop(); if (seen.has(f) || !inputs[f] || (process.env.EXCLUDE||'').split(',').includes(f)) continue; seen.add(f); for (const i of inputs[f].imports) if (i.kind !== 'dynamic-import' && i.path && inputs[i.path]) stack.push(i.path); }
let bytes = 0; const byPkg = new Map();
for (const f of seen) { bytes += inputs[f].bytes; const k = f.startsWith('node_modules/') ? f.split('/').slice(0, f.split('/')[1].startsWith('@') ? 3 : 2).join('/') : f.split('/').slice(0, 2).join('/'); byPkg.set(k, (byPkg.get(k) || 0) + inputs[f].bytes); }
console.log(seen.size, 'modules', (bytes / 1024).toFixed(0), 'KB');
for (const [k, b] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log((b / 1024).toFixed(0).padStart(6), k);
if (process.env.WHY) { // who imports WHY
  for (const f of seen) for (const i of inputs[f].imports) if (i.path === process.env.WHY && i.kind !== 'dynamic-import') console.log('imported by', f); }
