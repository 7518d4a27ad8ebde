package db_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// sqlStatement recognises a string literal that is (the start of) an SQL
// statement: a keyword followed by the clause that makes it a statement,
// so that English such as "Delete my data" does not count.
var sqlStatement = regexp.MustCompile(`(?is)^\s*(` +
	`select\s.*\bfrom\s|` +
	`insert\s+into\s|` +
	`update\s+[a-z_][a-z0-9_.]*(\s+(as\s+)?[a-z_][a-z0-9_]*)?\s+set\s|` +
	`delete\s+from\s|` +
	`with\s+[a-z_][a-z0-9_]*\s+as\s*(not\s+)?(materialized\s+)?\(|` +
	`set\s+local\s|` +
	`(create|alter|drop)\s+(table|index|database|extension|function|trigger|type|view)\s)`)

// sqlAllowed are the directories, relative to the module root, whose
// non-test code may hold SQL besides db/ itself.
var sqlAllowed = map[string]string{
	"cmd/dsrbench": "the benchmark measures raw-SQL ceilings (single-row inserts, seeding a million requests) against the app; its SQL is the measurement",
}

// TestNoSQLOutsideDB enforces "SQL lives only in db, next to its scan":
// no non-test Go file outside db/ (and the few directories in sqlAllowed)
// has a string literal that looks like an SQL statement.
func TestNoSQLOutsideDB(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from db/: %v", err)
	}
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "db" || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			if _, ok := sqlAllowed[rel]; ok {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		for _, hit := range sqlLiterals(t, path) {
			t.Errorf("%s:%d: SQL outside db (move it into a db function next to its scan): %s", rel, hit.line, hit.text)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 20 {
		t.Fatalf("checked only %d files; is the walk rooted at the module?", files)
	}
}

type sqlHit struct {
	line int
	text string
}

// sqlLiterals parses one Go file and returns its string literals that
// look like SQL.
func sqlLiterals(t *testing.T, path string) []sqlHit {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var hits []sqlHit
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		if sqlStatement.MatchString(s) {
			first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
			hits = append(hits, sqlHit{line: fset.Position(lit.Pos()).Line, text: first})
		}
		return true
	})
	return hits
}

// TestSQLStatementPattern pins what the layering check counts as SQL.
func TestSQLStatementPattern(t *testing.T) {
	for s, want := range map[string]bool{
		"SELECT r.id FROM requests r WHERE ":                     true,
		"\n\t\tselect count(*)\n from river_job":                 true,
		"INSERT INTO messages (a) VALUES ($1)":                   true,
		"UPDATE messages SET status = 'queued' WHERE id = $1":    true,
		"update river_job j set state = 'available'":             true,
		"DELETE FROM river_job j WHERE":                          true,
		"WITH rq AS (SELECT array_agg(id) AS ids FROM x) SELECT": true,
		"SET LOCAL enable_hashjoin = off":                        true,
		"CREATE TABLE bench (id int)":                            true,
		"Delete my data":                                         false,
		"delete your personal data":                              false,
		"Select the kind of request":                             false,
		"Update your details":                                    false,
		"with the agent's permission":                            false,
		"insert deliver job: %w":                                 false,
		"":                                                       false,
	} {
		if got := sqlStatement.MatchString(s); got != want {
			t.Errorf("%q: looks like SQL = %v, want %v", s, got, want)
		}
	}
}
