// Package docs holds the documents bundled into the binary: the pages
// the built-in "docs" engine answers from when DOCS_DIR is not set.
//
// The pages describe SmartDocs itself (rate limiting, key strategies,
// storage, configuration, deployment, the HTTP API, the models and
// monitoring), so a fresh deployment can answer questions about how it
// works.
package docs

import "embed"

// FS holds every Markdown page of this folder at its root, for example
// "rate-limiting.md". It is read-only and safe for concurrent use; pass
// it to chat.Load.
//
//go:embed *.md
var FS embed.FS
