package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// Requests answered on the processor path are visible in the console:
// the queue links to "Redirected to the client", which lists each with
// the client named and the instructions mail that was sent. A desk
// without a processor notice does not link to it and lists none.
func TestConsoleShowsRedirectedRequests(t *testing.T) {
	t.Parallel()
	d := seedDesk(t, "nemerosa-ontrack")
	staff(t, d, "vera@nemerosa.example", workflow.RoleViewer)
	b := login(t, d, "vera@nemerosa.example")
	if _, page := b.get("/console/redirects"); !strings.Contains(page, "No request was redirected to a client.") {
		t.Fatalf("redirects before any:\n%s", page)
	}
	for _, v := range []url.Values{{"email": {"piet@example.com"}, "client": {"Acme Bank"}}, {"email": {"jan@example.com"}}} {
		if resp, body := postForm(t, d, "/requests/processor", v); resp.StatusCode != http.StatusCreated {
			t.Fatalf("processor path: %d\n%s", resp.StatusCode, body)
		}
	}
	if _, page := b.get("/console"); !strings.Contains(page, `href="/console/redirects"`) {
		t.Errorf("queue does not link to the redirects:\n%s", page)
	}
	resp, page := b.get("/console/redirects")
	if resp.StatusCode != 200 {
		t.Fatalf("redirects page: %d", resp.StatusCode)
	}
	i, j := strings.Index(page, "jan@example.com"), strings.Index(page, "piet@example.com")
	if i < 0 || j < 0 || !strings.Contains(page, "Acme Bank") || !strings.Contains(page, "not given") || !strings.Contains(page, "2 in all") {
		t.Fatalf("redirects page lacks the two redirects:\n%s", page)
	}
	if n := strings.Count(page, "you must contact the relevant client who controls that data"); n != 2 {
		t.Errorf("instructions shown %d times, want 2 (one per redirect):\n%s", n, page)
	}

	plain := apitest.Start(t, apitest.Options{})
	staff(t, plain, "vera@testorg.example", workflow.RoleViewer)
	pb := login(t, plain, "vera@testorg.example")
	if _, page := pb.get("/console"); strings.Contains(page, `href="/console/redirects"`) {
		t.Errorf("a desk without a processor notice links to redirects")
	}
}
