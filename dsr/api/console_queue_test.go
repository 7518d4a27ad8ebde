package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// The queue shows who asked, finds requests by part of a name (and still
// by email and reference), and numbers its pages with the total.
func TestQueueRequesterSearchAndPages(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, tok := staff(t, d, "olly@testorg.example", workflow.RoleOfficer)
	officer := login(t, d, "olly@testorg.example")
	refs := map[string]string{}
	for _, p := range []struct{ name, email string }{{"Olga Petrova", "olga@example.com"}, {"Piet de Vries", "piet@example.com"}, {"", "anon@example.com"}} {
		code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests", map[string]any{"kind": "access", "received_at": d.Clock.Now().UTC().Format(time.RFC3339),
			"subject": map[string]any{"email": p.email, "name": p.name, "country": "NL"}})
		if code != 201 {
			t.Fatalf("enter: %d %v", code, out)
		}
		refs[p.email] = out["ref"].(string)
	}
	_, page := officer.get("/console")
	if !strings.Contains(page, ">Requester</th>") || !strings.Contains(page, "Olga Petrova") || !strings.Contains(page, "anon@example.com") {
		t.Fatalf("queue without a requester column:\n%s", page)
	}
	if !strings.Contains(page, "Requests 1–3 of 3 · page 1 of 1") {
		t.Fatalf("no page total on the queue:\n%s", page)
	}
	for q, want := range map[string]string{"petro": "olga@example.com", "DE VRIES": "piet@example.com", "anon@example.com": "anon@example.com", refs["piet@example.com"]: "piet@example.com"} {
		_, page := officer.get("/console?q=" + strings.ReplaceAll(q, " ", "+"))
		for email, ref := range refs {
			if shown := strings.Contains(page, ">"+ref+"</a>"); shown != (email == want) {
				t.Errorf("search %q: %s shown=%v", q, ref, shown)
			}
		}
	}
	// A wildcard in the search is a character, not a pattern.
	if _, page := officer.get("/console?q=%25"); strings.Contains(page, refs["olga@example.com"]) {
		t.Errorf("search %%: matched every name")
	}

	// Two to a page: page 1 of 2, then page 2 holds the third.
	_, page = officer.get("/console?limit=2")
	if !strings.Contains(page, "Requests 1–2 of 3 · page 1 of 2") || !strings.Contains(page, `href="/console?limit=2&amp;page=2" rel="next"`) ||
		!strings.Contains(page, `aria-current="page">1</a>`) {
		t.Fatalf("page 1 of 2:\n%s", page)
	}
	_, page = officer.get("/console?limit=2&page=2")
	if !strings.Contains(page, "Requests 3–3 of 3 · page 2 of 2") || !strings.Contains(page, `rel="prev"`) || strings.Count(page, `name="ids"`) != 1 {
		t.Fatalf("page 2 of 2:\n%s", page)
	}
	if resp, _ := officer.get("/console?page=0"); resp.StatusCode != 422 {
		t.Errorf("page 0: %d, want 422", resp.StatusCode)
	}
	if resp, _ := officer.get("/console?page=x"); resp.StatusCode != 422 {
		t.Errorf("page x: %d, want 422", resp.StatusCode)
	}
}
