/**
 * Artifact I/O of a step, worker-thread side: every byte goes to the main thread by message
 * (the server checks the tenant there). Small writes are one message; large ones and exec
 * stdout are streams of chunks with at most {@link STREAM_WINDOW} bytes unacknowledged, so
 * neither this thread, the plugin host nor the server ever holds a whole large artifact.
 */
import {
  FromWorker,
  StepError,
  type ArtifactAckMessage,
  type ArtifactReplyMessage,
  type StepErrorInfo,
  type WorkerToMain,
} from './protocol.js';

/** Writes up to this size travel as one message; larger ones are streamed. */
export const SINGLE_MESSAGE_MAX = 256 * 1024;
/** Chunk size of streamed writes. */
export const STREAM_CHUNK = 256 * 1024;
/** Unacknowledged bytes per stream before the writer waits. */
export const STREAM_WINDOW = 1024 * 1024;

/** A streaming artifact write (exec stdout, large writes). */
export interface ArtifactStream {
  /** Resolves once the chunk may be reused and the window has room; rejects if the stream failed. */
  write(chunk: Uint8Array): Promise<void>;
  /** Commits; resolves to the hash. */
  end(mediaType: string): Promise<string>;
  /** Drops it (idempotent). */
  abort(): void;
}

type Post = (msg: WorkerToMain, transfer?: ArrayBuffer[]) => void;

interface StreamState {
  unacked: number;
  failed: StepErrorInfo | null;
  waiters: Array<() => void>;
}

/** An exact-size private copy: a Buffer may be a view into a shared pool, never transfer that. */
export function privateCopy(src: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(src.byteLength);
  bytes.set(src);
  return bytes;
}

function stepError(e: StepErrorInfo): StepError {
  return new StepError(e.code, e.message, { retryable: e.retryable });
}

export class WorkerArtifacts {
  private readonly requests = new Map<number, (m: ArtifactReplyMessage) => void>();
  private readonly streams = new Map<number, StreamState>();
  private nextReqId = 1;
  private nextStreamId = 1;

  constructor(private readonly post: Post) {}

  /** Sends a request answered by an ArtifactReply; rejects with the reply's error. */
  async request(msg: { cmd: FromWorker } & Record<string, unknown>, transfer?: ArrayBuffer[]): Promise<ArtifactReplyMessage> {
    const reqId = this.nextReqId++;
    const reply = await new Promise<ArtifactReplyMessage>((resolve) => {
      this.requests.set(reqId, resolve);
      this.post({ ...msg, reqId } as unknown as WorkerToMain, transfer);
    });
    if (reply.error) throw stepError(reply.error);
    return reply;
  }

  onReply(m: ArtifactReplyMessage): void {
    const r = this.requests.get(m.reqId);
    this.requests.delete(m.reqId);
    r?.(m);
  }

  onAck(m: ArtifactAckMessage): void {
    const s = this.streams.get(m.streamId);
    if (!s) return;
    s.unacked -= m.bytes;
    if (m.error) s.failed ??= m.error;
    for (const w of s.waiters.splice(0)) w();
  }

  /** Stores bytes for task `taskId`: one message when small, a stream when large. */
  async write(taskId: number, data: Uint8Array, mediaType: string): Promise<string> {
    if (data.byteLength <= SINGLE_MESSAGE_MAX) {
      const bytes = privateCopy(data);
      const reply = await this.request({ cmd: FromWorker.WriteArtifact, taskId, bytes, mediaType }, [bytes.buffer as ArrayBuffer]);
      return reply.hash!;
    }
    const s = this.open(taskId);
    try {
      for (let off = 0; off < data.byteLength; off += STREAM_CHUNK) {
        await s.write(data.subarray(off, Math.min(off + STREAM_CHUNK, data.byteLength)));
      }
      return await s.end(mediaType);
    } catch (e) {
      s.abort();
      throw e;
    }
  }

  /** Opens a stream for task `taskId`. */
  open(taskId: number): ArtifactStream {
    const streamId = this.nextStreamId++;
    const state: StreamState = { unacked: 0, failed: null, waiters: [] };
    this.streams.set(streamId, state);
    let ended = false;
    const check = (): void => {
      if (state.failed) throw stepError(state.failed);
      if (ended) throw new StepError('ARTIFACT_INVALID', 'the artifact stream has ended', { retryable: false });
    };
    return {
      write: async (chunk) => {
        check();
        const bytes = privateCopy(chunk);
        state.unacked += bytes.byteLength;
        this.post({ cmd: FromWorker.ArtifactChunk, taskId, streamId, bytes }, [bytes.buffer as ArrayBuffer]);
        while (state.unacked > STREAM_WINDOW && !state.failed) await new Promise<void>((r) => state.waiters.push(r));
        check();
      },
      end: async (mediaType) => {
        check();
        ended = true;
        try {
          const reply = await this.request({ cmd: FromWorker.ArtifactEnd, taskId, streamId, mediaType });
          return reply.hash!;
        } finally {
          this.streams.delete(streamId);
        }
      },
      abort: () => {
        if (ended) return;
        ended = true;
        this.streams.delete(streamId);
        this.post({ cmd: FromWorker.ArtifactAbort, taskId, streamId });
      },
    };
  }
}
