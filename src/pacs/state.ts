import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { MedclassError } from '../errors.js';

/**
 * The local record of instances already classified and stored back, so a second run (or a restart) posts nothing
 * twice. Entries are SHA-256 digests of (run fingerprint, SOP Instance UID), not the UIDs, so the file holds no
 * identifier; a new model (another fingerprint) classifies every instance again.
 */
export class ProcessedState {
  private constructor(private readonly path: string, private readonly processed: Record<string, string>) {}

  /** Opens the state file at `path` (missing = empty); a malformed one throws MC_PACS_BAD_STATE. */
  static load(path: string): ProcessedState {
    if (!existsSync(path)) return new ProcessedState(path, {});
    try {
      const j = JSON.parse(readFileSync(path, 'utf8')) as { version?: number; processed?: Record<string, string> };
      if (j.version !== 1 || typeof j.processed !== 'object' || j.processed === null) throw new Error('not a version-1 state file');
      return new ProcessedState(path, { ...j.processed });
    } catch (cause) {
      throw new MedclassError('MC_PACS_BAD_STATE', `${path}: not a medclass DICOMweb state file (${(cause as Error).message.slice(0, 80)})`,
        { file: path, cause, hint: 'pass another --state file; delete this one only if re-posting every result is acceptable' });
    }
  }

  private static key(fingerprint: string, sopInstanceUid: string): string {
    return createHash('sha256').update(`${fingerprint}\u0000${sopInstanceUid}`).digest('hex');
  }

  /** Whether this model's result for the instance was stored already. */
  has(fingerprint: string, sopInstanceUid: string): boolean {
    return ProcessedState.key(fingerprint, sopInstanceUid) in this.processed;
  }

  /** Records the instance as done (at `when`); `save()` writes it. */
  add(fingerprint: string, sopInstanceUid: string, when: Date): void {
    this.processed[ProcessedState.key(fingerprint, sopInstanceUid)] = when.toISOString();
  }

  /** How many instances are recorded. */
  get size(): number {
    return Object.keys(this.processed).length;
  }

  /** Writes the file atomically (temp file + rename), so an interrupted run leaves the previous state. */
  save(): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ version: 1, processed: this.processed }, null, 1)}\n`);
    renameSync(tmp, this.path);
  }
}
