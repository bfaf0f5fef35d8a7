// Dot-path access compiled once into closures. A path containing '@' (Dynamics
// 'x@odata.bind', OData annotations) is one literal key: its dots are part of the name.

export type Getter = (record: Record<string, unknown>) => unknown;
export type Setter = (record: Record<string, unknown>, value: unknown) => void;

export function splitPath(path: string): string[] {
	return path.includes('@') ? [path] : path.split('.');
}

export function compileGetter(path: string): Getter {
	const parts = splitPath(path);
	if (parts.length === 1) {
		const k = parts[0];
		return (r) => r[k];
	}
	if (parts.length === 2) {
		const [a, b] = parts;
		return (r) => {
			const o = r[a];
			return o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[b] : undefined;
		};
	}
	return (r) => {
		let o: unknown = r;
		for (const p of parts) {
			if (o === null || typeof o !== 'object') return undefined;
			o = (o as Record<string, unknown>)[p];
		}
		return o;
	};
}

/** First defined value of several paths. */
export function compileFirstOf(paths: string[]): Getter {
	if (paths.length === 1) return compileGetter(paths[0]);
	const getters = paths.map(compileGetter);
	return (r) => {
		for (const g of getters) {
			const v = g(r);
			if (v !== undefined) return v;
		}
		return undefined;
	};
}

export function compileSetter(path: string): Setter {
	const parts = splitPath(path);
	if (parts.length === 1) {
		const k = parts[0];
		return (r, v) => {
			r[k] = v;
		};
	}
	const last = parts[parts.length - 1];
	const head = parts.slice(0, -1);
	return (r, v) => {
		let o = r;
		for (const p of head) {
			let next = o[p];
			if (next === null || typeof next !== 'object') {
				next = {};
				o[p] = next;
			}
			o = next as Record<string, unknown>;
		}
		o[last] = v;
	};
}
