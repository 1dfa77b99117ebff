/** Close codes (contract §5). 44xx: do not reconnect; 45xx and 1xxx: transient. */
export const CLOSE = {
  badRequest: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  tooLarge: 4413,
  rateLimited: 4429,
  unavailable: 4503,
  restarting: 1012,
  internalError: 1011,
} as const
