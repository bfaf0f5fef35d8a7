// n8n loads the nodes and credentials listed under "n8n" in package.json; this entry only
// exposes the framework-free sync library for programmatic use.
module.exports = {};
