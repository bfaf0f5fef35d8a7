// Clustering: connected components (union-find) over the pairs at or above the threshold.

export class UnionFind {
	private readonly parent: Int32Array;
	private readonly rank: Uint8Array;

	constructor(size: number) {
		this.parent = new Int32Array(size);
		this.rank = new Uint8Array(size);
		for (let i = 0; i < size; i++) this.parent[i] = i;
	}

	find(x: number): number {
		let root = x;
		while (this.parent[root] !== root) root = this.parent[root];
		while (this.parent[x] !== root) {
			const next = this.parent[x];
			this.parent[x] = root;
			x = next;
		}
		return root;
	}

	union(a: number, b: number): void {
		let ra = this.find(a);
		let rb = this.find(b);
		if (ra === rb) return;
		if (this.rank[ra] < this.rank[rb]) [ra, rb] = [rb, ra];
		this.parent[rb] = ra;
		if (this.rank[ra] === this.rank[rb]) this.rank[ra]++;
	}
}

/** Groups of 2+ slots linked by `pairs`, each sorted, ordered by their smallest slot. */
export function connectedComponents(size: number, pairs: Iterable<{ a: number; b: number }>): number[][] {
	const sets = new UnionFind(size);
	for (const { a, b } of pairs) sets.union(a, b);
	const groups = new Map<number, number[]>();
	for (let slot = 0; slot < size; slot++) {
		const root = sets.find(slot);
		const group = groups.get(root);
		if (group === undefined) groups.set(root, [slot]);
		else group.push(slot);
	}
	return [...groups.values()].filter((g) => g.length > 1).sort((x, y) => x[0] - y[0]);
}
