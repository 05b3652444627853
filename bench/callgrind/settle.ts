/** Round trips between each window's scavenge and the window, so that what the scavenge disturbs settles first. */
export const SETTLE = 1000;
/** The same for connection churn (echo-churn), whose unit (a connection) is far slower under valgrind. */
export const CHURN_SETTLE = 200;
