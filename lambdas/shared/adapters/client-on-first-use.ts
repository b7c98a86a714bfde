/**
 * An AWS client made on first use, once per container: its SDK package is imported only by a
 * function that calls it, not parsed at every cold start. A failed attempt is not kept.
 */
export class ClientOnFirstUse<C> {
  private making: Promise<C> | undefined;
  private made: C | undefined;
  private readonly onMade: Array<(client: C) => void> = [];

  constructor(private readonly make: () => Promise<C>) {}

  client(): Promise<C> {
    if (this.making === undefined) {
      this.making = this.make().then((client) => {
        this.made = client;
        for (const hook of this.onMade.splice(0)) hook(client);
        return client;
      });
      this.making.catch(() => {
        this.making = undefined;
      });
    }
    return this.making;
  }

  /** Runs `hook` on the client when it is made (at once if it has been): to trace its calls, say. */
  whenMade(hook: (client: C) => void): void {
    if (this.made === undefined) this.onMade.push(hook);
    else hook(this.made);
  }
}

/** A client given as it is, or made on first use. */
export type ClientSource<C> = C | ClientOnFirstUse<C>;

export function clientOf<C>(source: ClientSource<C>): Promise<C> {
  return source instanceof ClientOnFirstUse ? source.client() : Promise.resolve(source);
}
