/**
 * Artifact requests of steps, answered on the server through the ArtifactIO (which checks and
 * records the tenant): single reads and writes, and streams (chunks written to the store as
 * they come, each acknowledged so the sender keeps at most a window of bytes in flight — the
 * server never holds a whole large artifact). A request for a step that has already ended is
 * refused (`TASK_ENDED`).
 */
import { FromWorker, ToWorker, validMediaType, type MainToWorker, type StepErrorInfo, type WorkerToMain } from './protocol.js';
import { artifactIoError, type ArtifactIO, type ArtifactSink, type TaskMeta } from './pool-types.js';

type Post = (m: MainToWorker) => void;

type ArtifactMessage = Extract<
  WorkerToMain,
  { cmd: FromWorker.WriteArtifact | FromWorker.ReadArtifact | FromWorker.ArtifactChunk | FromWorker.ArtifactEnd | FromWorker.ArtifactAbort }
>;

const TASK_ENDED: StepErrorInfo = { code: 'TASK_ENDED', message: 'the step has already ended', retryable: false };

interface OpenStream {
  task: string;
  sink: Promise<ArtifactSink>;
  /** Set once a write failed: later chunks are refused with it. */
  error: StepErrorInfo | null;
}

/** The artifact side of one worker thread (streams are per thread: their ids are the thread's). */
export class SlotArtifacts {
  private readonly streams = new Map<number, OpenStream>();

  constructor(
    private readonly io: ArtifactIO,
    private readonly post: Post,
  ) {}

  /** `meta` is undefined when the step has already ended. */
  handle(m: ArtifactMessage, meta: TaskMeta | undefined): void {
    // Shapes are checked again here: the host is sandboxed, not trusted.
    const carriesBytes = m.cmd === FromWorker.WriteArtifact || m.cmd === FromWorker.ArtifactChunk || 'bytes' in m;
    const bad = carriesBytes && !((m as { bytes?: unknown }).bytes instanceof Uint8Array) ? 'bytes must be a Uint8Array'
      : 'mediaType' in m && !validMediaType(m.mediaType) ? 'mediaType must be a short printable string' : null;
    if (bad) {
      const error: StepErrorInfo = { code: 'ARTIFACT_INVALID', message: bad, retryable: false };
      if ('reqId' in m) this.post({ cmd: ToWorker.ArtifactReply, reqId: m.reqId, error });
      else if (m.cmd === FromWorker.ArtifactChunk) this.post({ cmd: ToWorker.ArtifactAck, streamId: m.streamId, bytes: 0, error });
      return;
    }
    switch (m.cmd) {
      case FromWorker.WriteArtifact:
      case FromWorker.ReadArtifact:
        void this.single(m, meta);
        return;
      case FromWorker.ArtifactChunk:
        return this.chunk(m.streamId, m.bytes, meta);
      case FromWorker.ArtifactEnd:
        void this.end(m.reqId, m.streamId, m.mediaType, meta);
        return;
      case FromWorker.ArtifactAbort:
        return this.drop(m.streamId);
    }
  }

  /** Drops the open streams of a task that ended (or of every task: the thread is gone). */
  endTask(taskId?: string): void {
    for (const [id, s] of this.streams) if (taskId === undefined || s.task === taskId) this.drop(id);
  }

  private async single(m: Extract<ArtifactMessage, { cmd: FromWorker.WriteArtifact | FromWorker.ReadArtifact }>, meta: TaskMeta | undefined): Promise<void> {
    const reply = { cmd: ToWorker.ArtifactReply, reqId: m.reqId } as const;
    if (!meta) return this.post({ ...reply, error: TASK_ENDED });
    try {
      if (m.cmd === FromWorker.WriteArtifact) return this.post({ ...reply, hash: await this.io.write(meta, m.bytes, m.mediaType) });
      const found = await this.io.read(meta, m.hash);
      if (!found) throw Object.assign(new Error('not found'), { code: 'NOT_FOUND' });
      this.post({ ...reply, bytes: found });
    } catch (err) {
      this.post({ ...reply, error: artifactIoError(err) });
    }
  }

  private chunk(streamId: number, bytes: Uint8Array, meta: TaskMeta | undefined): void {
    const ack = (error?: StepErrorInfo): void => this.post({ cmd: ToWorker.ArtifactAck, streamId, bytes: bytes.byteLength, ...(error ? { error } : {}) });
    let s = this.streams.get(streamId);
    if (!s) {
      if (!meta) return ack(TASK_ENDED);
      s = { task: meta.taskId, sink: Promise.resolve(this.io.openWrite(meta)), error: null };
      this.streams.set(streamId, s);
    }
    if (s.error) return ack(s.error);
    const stream = s;
    stream.sink
      .then((sink) => sink.write(bytes))
      .then(
        () => ack(stream.error ?? undefined),
        (err: unknown) => {
          stream.error ??= artifactIoError(err);
          ack(stream.error);
        },
      );
  }

  private async end(reqId: number, streamId: number, mediaType: string, meta: TaskMeta | undefined): Promise<void> {
    const reply = { cmd: ToWorker.ArtifactReply, reqId } as const;
    const s = this.streams.get(streamId);
    this.streams.delete(streamId);
    try {
      if (!meta) throw Object.assign(new Error('ended'), { code: 'TASK_ENDED' });
      const sink = s ? await s.sink : await this.io.openWrite(meta);
      if (s?.error) {
        await sink.abort();
        return this.post({ ...reply, error: s.error });
      }
      this.post({ ...reply, hash: await sink.commit(mediaType) });
    } catch (err) {
      if (s) void s.sink.then((k) => k.abort(), () => undefined);
      const code = (err as { code?: unknown }).code;
      this.post({ ...reply, error: code === 'TASK_ENDED' ? TASK_ENDED : artifactIoError(err) });
    }
  }

  private drop(streamId: number): void {
    const s = this.streams.get(streamId);
    if (!s) return;
    this.streams.delete(streamId);
    void s.sink.then((k) => k.abort(), () => undefined);
  }
}
