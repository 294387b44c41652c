/**
 * Progress of long backups and restores on stderr: one line rewritten in place on a terminal
 * (at most every 200 ms), plain lines when piped (each phase, and every quarter of a transfer
 * of 64 MiB or more), nothing at all when silent.
 *
 * @example
 * const p = stderrProgress('backup');
 * p.phase('copying artifacts'); p.bytes(10 << 20, 40 << 20); p.done('done');
 */
export interface Progress {
  phase(text: string): void;
  bytes(done: number, total: number): void;
  done(text: string): void;
}

export const silentProgress: Progress = { phase() {}, bytes() {}, done() {} };

const MiB = 1024 * 1024;
const mib = (n: number) => (n / MiB).toFixed(1);

export function stderrProgress(label: string, out: NodeJS.WriteStream = process.stderr): Progress {
  const tty = out.isTTY === true;
  let phase = '';
  let last = 0;
  let quarter = -1;
  return {
    phase(text) {
      phase = text;
      quarter = -1;
      if (tty) out.write(`\r\x1b[K${label}: ${text}`);
      else out.write(`${label}: ${text}\n`);
    },
    bytes(done, total) {
      const pct = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
      if (tty) {
        const now = Date.now();
        if (now - last < 200 && done < total) return;
        last = now;
        out.write(`\r\x1b[K${label}: ${phase} ${mib(done)}/${mib(total)} MiB (${pct}%)`);
      } else if (total >= 64 * MiB && Math.floor(pct / 25) > quarter) {
        quarter = Math.floor(pct / 25);
        out.write(`${label}: ${phase} ${mib(done)}/${mib(total)} MiB (${pct}%)\n`);
      }
    },
    done(text) {
      out.write(tty ? `\r\x1b[K${label}: ${text}\n` : `${label}: ${text}\n`);
    },
  };
}
