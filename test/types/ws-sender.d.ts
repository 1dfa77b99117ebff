/**
 * The Sender class that ws exports but @types/ws leaves out; ws-frame.test.ts
 * checks Quire's frames against its framing.
 */
import 'ws'

declare module 'ws' {
  export interface FrameOptions {
    fin: boolean
    opcode: number
    mask: boolean
    readOnly: boolean
    rsv1: boolean
  }
  export class Sender {
    /** The frame as the header and the payload (one buffer when ws copies them together). */
    static frame (data: Buffer, options: FrameOptions): Buffer[]
  }
}
