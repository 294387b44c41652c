/** Types of build.cjs (see there). */
export interface ConsoleFile {
  type: string;
  text: string;
}
export interface ConsoleBuild {
  /** By URL path below `/console/`: `index.html`, `assets/<name>-<hash>.<ext>`. */
  files: Record<string, ConsoleFile>;
  /** Source files bundled (for license notices). */
  inputs: string[];
  /** All files gzipped (level 9), added up. */
  gzipBytes: number;
}
export declare const HEAD_SLOT: string;
export declare function buildConsole(opts: { root: string; minify?: boolean }): Promise<ConsoleBuild>;
