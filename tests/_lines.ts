// Test helper: reads a child's output line by line, keeping every line and calling `onLine` for each.

/** Collects the lines of `stream` into `lines` as they arrive; resolves when the stream ends. */
export async function collectLines(
  stream: ReadableStream<Uint8Array>,
  lines: string[],
  onLine: (line: string) => void = () => {},
): Promise<void> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      onLine(line);
    }
  }
}
