// Package templates holds the embedded web pages, mail bodies (per locale)
// and static assets.
package templates

import "embed"

// FS holds web/*.html, mail/<locale>/*.txt, mail/layout.html, static/* and
// package/readme.html (the export package's README).
//
//go:embed web mail static package
var FS embed.FS
