// Per-emulator clock: millisecond timestamps that strictly increase, so "modified after T"
// delta reads never miss or repeat a write. Under heavy write load (>1000 writes/s) the clock
// runs ahead of wall time by design; it falls back in step once the load stops.

export class Clock {
	private last = 0;

	/** Next timestamp in ms since epoch: max(wall clock, previous + 1). */
	tick(): number {
		const now = Date.now();
		this.last = now > this.last ? now : this.last + 1;
		return this.last;
	}

	/** Latest issued timestamp without advancing (or wall time if later). */
	peek(): number {
		return Math.max(Date.now(), this.last);
	}

	reset(): void {
		this.last = 0;
	}
}
