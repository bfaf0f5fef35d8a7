// normaliseDomain: the bare host accounts are matched on.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { isSharedDomain, normaliseDomain } from '../../../lib/matching/normalise-domain';

test('websites written in different ways give the same host', () => {
	for (const value of ['acme.com', 'ACME.com', 'www.acme.com', 'https://www.acme.com/', 'http://acme.com:8080/about?x=1#top', 'acme.com.', ' https://acme.com ', 'ftp://user@acme.com/files', 'sales@acme.com', 'www2.acme.com']) {
		assert.equal(normaliseDomain(value), 'acme.com', value);
	}
	assert.equal(normaliseDomain('https://shop.acme.co.uk/path'), 'shop.acme.co.uk');
	assert.equal(normaliseDomain('https://bücher.de'), 'bücher.de');
});

test('values that hold no host give undefined', () => {
	for (const value of [undefined, null, '', '   ', 'acme', 'not a website', 'http://', 42]) assert.equal(normaliseDomain(value), undefined, String(value));
});

test('free-mail and shared hosting hosts are shared, company hosts are not', () => {
	assert.equal(isSharedDomain('gmail.com'), true);
	assert.equal(isSharedDomain('acme.wordpress.com'), true);
	assert.equal(isSharedDomain('acme.com'), false);
	assert.equal(isSharedDomain('notgmail.com'), false);
});
