// Package templates holds the embedded web pages, mail bodies (per locale)
// and static assets.
package templates

import "embed"

// FS holds web/*.html, mail/<locale>/*.txt, mail/layout.html and static/*.
//
//go:embed web mail static
var FS embed.FS
