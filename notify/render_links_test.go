package notify_test

import (
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/notify"
	"github.com/dsrdesk/dsrdesk/templates"
)

// TestHTMLMailIsFluidWithShortLinkText: the HTML part fits a narrow
// screen (fluid width up to 600 px, no fixed width) and our links read as
// what they open, not as raw token URLs; the text part keeps the URLs.
func TestHTMLMailIsFluidWithShortLinkText(t *testing.T) {
	t.Parallel()
	r, err := notify.NewRenderer(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	status := "https://desk.example/status/tok123"
	m, err := r.Render("en", "acknowledged", notify.MailData{Locale: "en", OrgName: "Testorg", Ref: "R-1", KindShort: "access",
		KindVerb: "get a copy", StatusURL: status})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, `width="600"`) || !strings.Contains(m.HTML, "max-width:600px") {
		t.Errorf("HTML mail is not fluid with a maximum:\n%s", m.HTML)
	}
	if !strings.Contains(m.HTML, `href="`+status+`"`) || !strings.Contains(m.HTML, ">See the status of your request</a>") || strings.Contains(m.HTML, ">"+status+"<") {
		t.Errorf("status link text in HTML:\n%s", m.HTML)
	}
	if !strings.Contains(m.Text, status) {
		t.Errorf("text part lost the URL:\n%s", m.Text)
	}
}
