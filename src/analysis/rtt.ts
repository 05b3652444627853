/**
 * Savings projected at a production round-trip time. A loopback exchange already includes the
 * local round trip (tens of microseconds), so each round trip a fix removes saves about `rttMs`
 * more in production than it saves here: projected = measured + roundTrips x rttMs.
 */
export function projectAtRtt(measuredMs: number, roundTrips: number, rttMs: number): number {
  return Math.round((measuredMs + Math.max(0, roundTrips) * rttMs) * 1000) / 1000;
}
