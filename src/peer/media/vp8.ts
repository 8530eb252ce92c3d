/**
 * Whether an encoded VP8 frame is a keyframe (RFC 6386 §9.1): bit 0 of the frame tag is 0 for a key
 * frame, and a key frame carries the start code 9d 01 2a after the 3-byte tag. Checking the start code
 * too keeps a corrupt or non-VP8 payload from being taken for a keyframe the receiver cannot decode.
 */
export function isVp8Keyframe(frame: Buffer): boolean {
  return (
    frame.length >= 10 &&
    (frame[0]! & 0x01) === 0 &&
    frame[3] === 0x9d &&
    frame[4] === 0x01 &&
    frame[5] === 0x2a
  );
}
