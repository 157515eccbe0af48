/**
 * The wallet CLI's usage error, shared by its parser, terminal and subcommands.
 *
 * @module
 */

/** A usage problem: printed with the subcommand's hint, exit code 2 (or the given one). Chain commands throw it too. */
export class CliUsageError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = "CliUsageError";
    this.exitCode = exitCode;
  }
}
