// Splits a JSON array arriving in chunks into its elements, so a 10,000-node getNodes answer (tens of MB)
// is reduced element by element instead of being held and parsed whole.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const isWhitespace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

export class JsonArraySplitter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private started = false;
  private finished = false;
  private parts: Buffer[] = [];
  private elementStarted = false;
  /** An element ended and no comma followed yet. */
  private afterElement = false;
  private readonly onElement: (value: unknown, index: number) => void;
  count = 0;

  constructor(onElement: (value: unknown, index: number) => void) {
    this.onElement = onElement;
  }

  private emit(chunk: Buffer, end: number, from: number): void {
    this.parts.push(chunk.subarray(from, end));
    const text = (this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts)).toString('utf8').trim();
    this.parts = [];
    this.elementStarted = false;
    if (!text) throw new SyntaxError('empty element in JSON array');
    this.onElement(JSON.parse(text), this.count++);
  }

  push(chunk: Buffer): void {
    let from = this.elementStarted ? 0 : -1;
    // strings are most of an answer: they are skipped with indexOf (native) instead of byte by byte
    let nextBackslash = chunk.indexOf(BACKSLASH);
    for (let i = 0; i < chunk.length; i++) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          continue;
        }
        if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = chunk.indexOf(BACKSLASH, i);
        const quote = chunk.indexOf(QUOTE, i);
        if (nextBackslash !== -1 && (quote === -1 || nextBackslash < quote)) {
          this.escaped = true;
          i = nextBackslash;
        } else if (quote === -1) i = chunk.length;
        else {
          this.inString = false;
          i = quote;
        }
        continue;
      }
      const b = chunk[i]!;
      if (this.finished) {
        if (!isWhitespace(b)) throw new SyntaxError('data after the end of the JSON array');
        continue;
      }
      if (!this.started) {
        if (isWhitespace(b)) continue;
        if (b !== OPEN_ARRAY) throw new SyntaxError('not a JSON array');
        this.started = true;
        this.depth = 1;
        continue;
      }
      if (this.depth === 1 && !this.elementStarted) {
        if (isWhitespace(b)) continue;
        if (b === COMMA) {
          if (!this.afterElement) throw new SyntaxError('empty element in JSON array');
          this.afterElement = false;
          continue;
        }
        if (b === CLOSE_ARRAY) {
          if (!this.afterElement && this.count > 0) throw new SyntaxError('trailing comma in JSON array');
          this.finished = true;
          this.depth = 0;
          continue;
        }
        if (this.afterElement) throw new SyntaxError('missing comma in JSON array');
        this.elementStarted = true;
        from = i;
      }
      if (b === QUOTE) this.inString = true;
      else if (b === OPEN_OBJECT || b === OPEN_ARRAY) this.depth++;
      else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        if (this.depth === 1) {
          // `]` closing the top array right after a scalar element
          this.emit(chunk, i, from);
          this.finished = true;
          this.depth = 0;
          continue;
        }
        this.depth--;
        if (this.depth === 1) {
          this.emit(chunk, i + 1, from);
          this.afterElement = true;
        }
      } else if (b === COMMA && this.depth === 1) this.emit(chunk, i, from);
    }
    if (this.elementStarted) this.parts.push(chunk.subarray(Math.max(from, 0)));
  }

  /** Throws when the array did not close: the answer was cut short or is not JSON. */
  end(): void {
    if (!this.finished) throw new SyntaxError(this.started ? 'the JSON array was cut short' : 'empty answer');
  }
}
