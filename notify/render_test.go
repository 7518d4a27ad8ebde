package notify_test

import (
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/notify"
	"github.com/dsrdesk/dsrdesk/templates"
)

// TestMailKeepsTypedTextOutOfSubjectsAndLinks renders every mail template
// with names that carry a URL: no Subject shows a name (they are typed by
// requesters and agents, and an agent chooses the inbox), no such URL
// becomes a link in the HTML part, and long names are cut with an
// ellipsis. Our own links still are links.
func TestMailKeepsTypedTextOutOfSubjectsAndLinks(t *testing.T) {
	t.Parallel()
	r, err := notify.NewRenderer(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(templates.FS, "mail/en/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("templates: %v %v", files, err)
	}
	long := "Agent https://evil.example/a " + strings.Repeat("y", 300)
	for _, f := range files {
		event := strings.TrimSuffix(path.Base(f), ".txt")
		for _, toAgent := range []bool{false, true} {
			d := notify.MailData{Locale: "en", OrgName: "Testorg", Ref: "R-1", KindShort: "access",
				SubjectName: "Subject https://evil.example/s", AgentName: long, AgentEmail: "agent@example.org",
				RecipientName: "Officer https://evil.example/o", ToAgent: toAgent,
				ActionURL: "https://desk.example/verify/tok", StatusURL: "https://desk.example/status/tok",
				ConsoleURL: "https://desk.example/console", Lines: []string{"line"}, Note: "n"}
			m, err := r.Render("en", event, d)
			if err != nil {
				t.Fatalf("%s: %v", event, err)
			}
			if strings.Contains(m.Subject, "evil") || strings.Contains(m.Subject, "yyy") {
				t.Errorf("%s: a name in the subject %q", event, m.Subject)
			}
			if strings.Contains(m.HTML, `href="https://evil.example`) {
				t.Errorf("%s: a typed URL is a link in the HTML", event)
			}
			if strings.Contains(m.Text, strings.Repeat("y", 100)) {
				t.Errorf("%s: a long name is not cut", event)
			}
			if strings.Contains(m.Text, "https://desk.example/status/tok") && !strings.Contains(m.HTML, `href="https://desk.example/status/tok"`) {
				t.Errorf("%s: our status link is not a link", event)
			}
		}
	}
}
