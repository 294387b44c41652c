/**
 * Hostile world, crashes, part 3 of 3: SIGKILL at a random moment during bursts of run starts,
 * restart, round after round (the rounds and their checks: ./faults-crash.ts).
 */
import { crashRounds } from './faults-crash.js';

crashRounds(3);
