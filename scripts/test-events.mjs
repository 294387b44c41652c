// A node:test reporter for scripts/test.mjs: one JSON line per test event the runner needs
// (a test starts, ends, passes, fails), so that it can count results, list failures and stop a
// file whose test hangs.
export default async function* events(source) {
  for await (const { type, data } of source) {
    const kind = /^test:(dequeue|complete|pass|fail)$/.exec(type)?.[1];
    if (!kind) continue;
    yield `${JSON.stringify({
      type: kind,
      name: data.name,
      nesting: data.nesting,
      suite: data.details?.type === 'suite',
      skip: data.skip !== undefined,
      todo: data.todo !== undefined,
    })}\n`;
  }
}
