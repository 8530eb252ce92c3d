import { UsageError } from '../../util/errors.js';

/**
 * A media file the bot cannot read (bad signature, truncated, unsupported codec). A usage error (exit 2):
 * it comes from the user's `--video`/`--audio` file; the built-in clips are tested never to raise it.
 */
export class MediaFormatError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = 'MediaFormatError';
  }
}
