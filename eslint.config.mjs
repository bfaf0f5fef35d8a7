import tseslint from 'typescript-eslint';
import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';

export default [
	{ ignores: ['dist/**', 'node_modules/**', 'sandbox/**', 'test/**', 'scripts/**', '*.js', '*.mjs'] },
	...tseslint.configs.recommended,
	// Self-hosted flavour: lib/ uses node:sqlite, fs and timers, which n8n Cloud forbids.
	n8nCommunityNodesPlugin.configs.recommendedWithoutN8nCloudSupport,
	{
		rules: {
			// The SDK-based connectors need runtime dependencies, so this package is not
			// "verified"-eligible by design (see README).
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
			// The state store is selected with n8n's built-in Redis credential (queue-mode users already
			// have one), which these two rules would only allow if the package defined its own copy.
			'@n8n/community-nodes/no-credential-reuse': 'off',
			'@n8n/community-nodes/valid-credential-references': 'off',
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
		},
	},
	{
		// lib/ never imports n8n, so it cannot throw NodeApiError; the nodes wrap its errors.
		files: ['lib/**/*.ts'],
		rules: { '@n8n/community-nodes/require-node-api-error': 'off' },
	},
];
