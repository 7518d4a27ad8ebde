package api_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/dsrdesk/dsrdesk"

// TestLayering enforces the dependency direction of DESIGN.md on the
// non-test code of every package, as `go list` sees it: the HTTP layer
// talks only to the engine, the domain imports nothing of ours, mail knows
// nothing of the engine or the HTTP layer, and the database layer nothing
// of the engine, mail or the HTTP layer. Test files are not checked: a
// test may set up through db what no engine method offers.
func TestLayering(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps=false", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"/...").Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			imports[f[0]] = f[1:]
		}
	}
	for _, pkg := range []string{"dsr", "dsr/api", "workflow", "notify", "db"} {
		if _, ok := imports[module+"/"+pkg]; !ok {
			t.Fatalf("go list did not list %s; got %d packages", pkg, len(imports))
		}
	}

	// ours reports whether path is one of this module's packages.
	ours := func(path string) bool { return path == module || strings.HasPrefix(path, module+"/") }
	// within reports whether path is pkg or one of its sub-packages.
	within := func(path, pkg string) bool {
		p := module + "/" + pkg
		return path == p || strings.HasPrefix(path, p+"/")
	}
	rules := []struct {
		pkg    string // the importing package and its sub-packages
		except []string
		// forbidden reports whether pkg may not import path.
		forbidden func(path string) bool
		why       string
	}{
		{"dsr/api", []string{"dsr/api/apitest"}, func(p string) bool { return within(p, "db") },
			"the HTTP layer talks only to the engine (workflow) and the domain (dsr)"},
		{"dsr/api", []string{"dsr/api/apitest"}, func(p string) bool { return strings.HasPrefix(p, "github.com/jackc/pgx") },
			"the HTTP layer reaches the database only through the engine"},
		{"dsr", []string{"dsr/api"}, func(p string) bool { return ours(p) && !within(p, "dsr") },
			"the domain imports nothing of ours"},
		{"dsr", []string{"dsr/api"}, technology,
			"the domain is pure Go: no echo, pgx, river or smtp"},
		{"notify", nil, func(p string) bool { return within(p, "workflow") || within(p, "dsr/api") },
			"mail knows nothing of the engine or the HTTP layer"},
		{"db", nil, func(p string) bool { return within(p, "workflow") || within(p, "dsr/api") || within(p, "notify") },
			"the database layer knows nothing of the engine, mail or the HTTP layer"},
	}
	checked := 0
	for path, imps := range imports {
		for _, r := range rules {
			if !within(path, r.pkg) || excepted(path, r.except) {
				continue
			}
			checked++
			for _, imp := range imps {
				if r.forbidden(imp) {
					t.Errorf("%s imports %s: %s", path, imp, r.why)
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked only %d packages", checked)
	}
}

// technology reports whether path is one of the technologies the domain
// must not know: the web framework, the database driver, the job queue,
// mail transport.
func technology(path string) bool {
	for _, p := range []string{"github.com/labstack/", "github.com/jackc/", "github.com/riverqueue/", "riverqueue.com/",
		"github.com/emersion/", "net/smtp"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// excepted reports whether path is one of the packages (or below one)
// that a rule leaves out.
func excepted(path string, except []string) bool {
	for _, e := range except {
		p := module + "/" + e
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}
