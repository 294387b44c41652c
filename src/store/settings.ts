/**
 * Values the whole installation shares (the `settings` table): the first node to ask for a
 * name stores its candidate, every later ask gets that stored value.
 *
 * @example
 * const key = new SettingsQueries(sqlite).getOrCreate('page-token-key', randomBytes(32).toString('hex'));
 */
import type Database from 'better-sqlite3';

export class SettingsQueries {
  private readonly insert;
  private readonly read;

  constructor(db: Database.Database) {
    this.insert = db.prepare('insert into settings (name, value) values (?, ?) on conflict (name) do nothing');
    this.read = db.prepare('select value from settings where name = ?').pluck();
  }

  /** The stored value of `name`; `candidate` is stored first when there is none. */
  getOrCreate(name: string, candidate: string): string {
    this.insert.run(name, candidate);
    return this.read.get(name) as string;
  }
}
