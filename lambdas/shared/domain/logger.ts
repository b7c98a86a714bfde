export type LogFields = Record<string, unknown>;

/** The slice of a structured logger the use cases need (Powertools' Logger fits it). */
export interface Log {
  info(message: string, fields: LogFields): void;
  warn(message: string, fields: LogFields): void;
  error(message: string, fields: LogFields): void;
}

export const silentLog: Log = { info() {}, warn() {}, error() {} };
