/** The current time, injectable so that window arithmetic can be tested against fixed instants. */
export const CLOCK = Symbol('CLOCK');
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();
