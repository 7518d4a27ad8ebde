package dsr

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Table is a report (or dashboard) table as text cells: what CSV,
// Markdown and the console render.
type Table struct {
	Title   string
	Note    string
	Columns []string
	Rows    [][]string
}

// Report formats.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
	FormatMD   = "md"
)

// ParseFormat checks a report format ("" is json). Errors: EINVALID.
func ParseFormat(s string) (string, error) {
	switch s {
	case "":
		return FormatJSON, nil
	case FormatJSON, FormatCSV, FormatMD:
		return s, nil
	}
	return "", &Error{Code: EINVALID, Message: "invalid format", Fields: map[string]string{"format": "must be json, csv or md"}}
}

// WriteReport writes v (a report value) as JSON, or its table as CSV or
// Markdown. Errors: EINVALID for an unknown format, or the writer's.
func WriteReport(w io.Writer, format string, v any, t Table) error {
	switch format {
	case FormatJSON, "":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case FormatCSV:
		return t.WriteCSV(w)
	case FormatMD:
		return t.WriteMarkdown(w)
	}
	_, err := ParseFormat(format)
	return err
}

// WriteCSV writes the header and rows (RFC 4180). A cell that a
// spreadsheet would run as a formula (=, +, -, @ first) gets a leading
// apostrophe, except plain numbers.
func (t Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Columns); err != nil {
		return err
	}
	for _, r := range t.Rows {
		safe := make([]string, len(r))
		for i, c := range r {
			safe[i] = csvSafe(c)
		}
		if err := cw.Write(safe); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvSafe(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if strings.Trim(s, "-0123456789.") == "" && len(s) > 1 {
		return s // a negative number
	}
	return "'" + s
}

// WriteMarkdown writes the title, the note and a pipe table.
func (t Table) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", t.Title)
	if t.Note != "" {
		fmt.Fprintf(&b, "%s\n\n", t.Note)
	}
	row := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			c = strings.ReplaceAll(strings.ReplaceAll(c, "|", `\|`), "\n", " ")
			b.WriteString(" " + c + " |")
		}
		b.WriteString("\n")
	}
	row(t.Columns)
	sep := make([]string, len(t.Columns))
	for i := range sep {
		sep[i] = "---"
	}
	row(sep)
	for _, r := range t.Rows {
		row(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
