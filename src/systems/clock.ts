/** Where time comes from: the wall clock in production, a clock tests or the simulated mode move by hand. */
export interface Clock {
  now(): Date;
}
