/** The service's clock: the time the domain stamps and compares (saga deadlines, createdAt). Tests pass their own. */
export type Clock = () => Date;
