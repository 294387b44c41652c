/**
 * A run export as an array (tests compare whole exports): `exportRunRecords` read to the end.
 *
 * @example const runs = await exportedRuns(server.ports, { tenant: 'a' });
 */
import { exportRunRecords, type ExportFilter, type RunRecord } from '../../src/runs/transfer.js';
import type { Ports } from '../../src/store/index.js';

export async function exportedRuns(ports: Pick<Ports, 'runs'>, f: ExportFilter): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for await (const r of exportRunRecords(ports.runs, f)) out.push(r);
  return out;
}
