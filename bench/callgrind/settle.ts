/** Round trips between each window's scavenge and the window, so that what the scavenge disturbs settles first. */
export const SETTLE = 1000;
