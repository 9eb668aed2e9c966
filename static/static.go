// Package static holds the browser chat page. It is embedded so the binary
// ships as one file, and it has no build step and loads nothing from other
// origins, because the server's Content-Security-Policy allows only 'self'
// and no inline scripts or styles.
package static

import "embed"

// FS holds index.html, app.js, markdown.js and style.css at its root.
// index.html refers to the others under /static/ (app.js imports
// ./markdown.js), so serve FS under /static/ and index.html itself at /.
//
//go:embed index.html app.js markdown.js style.css
var FS embed.FS
