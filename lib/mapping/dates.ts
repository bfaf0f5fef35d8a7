// Date and datetime parsing/formatting with time zones. Instants are epoch milliseconds.
// Accepted input: ISO 8601 (with Z, ±HH:MM or ±HHMM offsets, or none = the configured zone),
// 'YYYY-MM-DD', 'YYYY-MM-DD HH:MM[:SS]', epoch numbers (ms; values below 1e11 are seconds),
// numeric strings, and WCF '/Date(ms[±HHMM])/' (Dynamics webhooks).

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|z|[+-]\d{2}:?\d{2})?)?$/;
const WCF_RE = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/;
const NUMERIC_RE = /^-?\d+(?:\.\d+)?$/;

/** A zone's UTC offset at an instant, in ms. Formatter cached per zone. */
export class Zone {
	readonly isUtc: boolean;
	private readonly fmt: Intl.DateTimeFormat | undefined;

	constructor(readonly name: string = 'UTC') {
		this.isUtc = name === 'UTC' || name === 'Etc/UTC' || name === 'GMT';
		if (!this.isUtc) {
			// Throws RangeError for an unknown zone: caught at compile time.
			this.fmt = new Intl.DateTimeFormat('en-US', {
				timeZone: name,
				hourCycle: 'h23',
				year: 'numeric',
				month: 'numeric',
				day: 'numeric',
				hour: 'numeric',
				minute: 'numeric',
				second: 'numeric',
			});
		}
	}

	offsetAt(ms: number): number {
		if (this.isUtc) return 0;
		const p = this.fmt!.formatToParts(new Date(ms));
		let y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
		for (const part of p) {
			switch (part.type) {
				case 'year': y = +part.value; break;
				case 'month': mo = +part.value; break;
				case 'day': d = +part.value; break;
				case 'hour': h = +part.value; break;
				case 'minute': mi = +part.value; break;
				case 'second': s = +part.value; break;
			}
		}
		return Date.UTC(y, mo - 1, d, h, mi, s) - (ms - (((ms % 1000) + 1000) % 1000));
	}

	/** Epoch ms of a wall-clock time in this zone. */
	fromLocal(y: number, mo: number, d: number, h: number, mi: number, s: number, msec: number): number {
		const guess = Date.UTC(y, mo - 1, d, h, mi, s, msec);
		if (this.isUtc) return guess;
		const first = guess - this.offsetAt(guess);
		return guess - this.offsetAt(first);
	}
}

function validCalendar(y: number, mo: number, d: number): boolean {
	if (mo < 1 || mo > 12 || d < 1) return false;
	return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

function offsetMs(tz: string): number {
	if (tz === 'Z' || tz === 'z') return 0;
	const sign = tz[0] === '-' ? -1 : 1;
	const digits = tz.length === 6 ? tz.slice(1, 3) + tz.slice(4) : tz.slice(1);
	return sign * (+digits.slice(0, 2) * 60 + +digits.slice(2)) * 60000;
}

function epochFromNumber(n: number): number {
	return Math.abs(n) < 1e11 ? n * 1000 : n;
}

/** Epoch ms, or NaN when the value is not a date/datetime. */
export function parseInstant(value: unknown, zone: Zone): number {
	if (typeof value === 'number') return Number.isFinite(value) ? epochFromNumber(value) : NaN;
	if (value instanceof Date) return value.getTime();
	if (typeof value !== 'string') return NaN;
	const s = value.trim();
	const m = ISO_RE.exec(s);
	if (m) {
		const y = +m[1], mo = +m[2], d = +m[3];
		if (!validCalendar(y, mo, d)) return NaN;
		const h = m[4] ? +m[4] : 0, mi = m[5] ? +m[5] : 0, sec = m[6] ? +m[6] : 0;
		if (h > 23 || mi > 59 || sec > 59) return NaN;
		const msec = m[7] ? +m[7].padEnd(3, '0').slice(0, 3) : 0;
		if (m[8]) return Date.UTC(y, mo - 1, d, h, mi, sec, msec) - offsetMs(m[8]);
		return zone.fromLocal(y, mo, d, h, mi, sec, msec);
	}
	if (NUMERIC_RE.test(s)) return epochFromNumber(+s);
	const w = WCF_RE.exec(s);
	if (w) return +w[1];
	return NaN;
}

const pad2 = (n: number) => (n < 10 ? '0' + n : '' + n);
const pad4 = (n: number) => (n < 1000 ? ('000' + n).slice(-4) : '' + n);

/**
 * 'YYYY-MM-DD' or '' when invalid. A string keeps the date it was written with (its own
 * offset); an instant (epoch, WCF) is read as a date in the configured zone.
 */
export function parseDateOnly(value: unknown, zone: Zone): string {
	if (typeof value === 'string') {
		const m = ISO_RE.exec(value.trim());
		if (m) {
			const timeOk = !m[4] || (+m[4] <= 23 && +m[5] <= 59 && (!m[6] || +m[6] <= 59));
			return timeOk && validCalendar(+m[1], +m[2], +m[3]) ? `${m[1]}-${m[2]}-${m[3]}` : '';
		}
	}
	const ms = parseInstant(value, zone);
	if (Number.isNaN(ms)) return '';
	return formatDateOnly(ms, zone);
}

export function formatDateOnly(ms: number, zone: Zone): string {
	const d = new Date(ms + zone.offsetAt(ms));
	return `${pad4(d.getUTCFullYear())}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

/** 'YYYY-MM-DDTHH:MM:SS±HH:MM' in the zone (Zoho's datetime format). */
export function formatIsoOffset(ms: number, zone: Zone): string {
	const off = zone.offsetAt(ms);
	const d = new Date(ms + off);
	const abs = Math.abs(off) / 60000;
	const sign = off < 0 ? '-' : '+';
	return (
		`${pad4(d.getUTCFullYear())}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}` +
		`T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}` +
		`${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`
	);
}

/** Epoch ms of midnight UTC of a 'YYYY-MM-DD' date (HubSpot date properties). */
export function midnightUtc(date: string): number {
	return Date.UTC(+date.slice(0, 4), +date.slice(5, 7) - 1, +date.slice(8, 10));
}
