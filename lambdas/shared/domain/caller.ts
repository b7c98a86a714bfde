/** The verified identity behind a request: authenticators produce it, the job tools and tasks are scoped by it. */
export interface Caller {
  /** The verified identity; the owner of every job this caller starts. */
  readonly principal: string;
}
