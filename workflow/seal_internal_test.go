package workflow

import (
	"errors"
	"strings"
	"testing"
)

func TestSealedMailOpensOnlyWithItsKeyAndMessageID(t *testing.T) {
	t.Parallel()
	key, err := mailSealKey(NewSecretKey())
	if err != nil {
		t.Fatal(err)
	}
	other, _ := mailSealKey(NewSecretKey())
	sealed, err := sealMail(key, "a@x", "text /status/T", "<p>html</p>")
	if err != nil {
		t.Fatal(err)
	}
	if text, html, err := openMail(key, "a@x", sealed); err != nil || text != "text /status/T" || html != "<p>html</p>" {
		t.Fatalf("open: %q %q %v", text, html, err)
	}
	for name, c := range map[string]struct {
		key []byte
		id  string
		b   []byte
	}{"other key": {other, "a@x", sealed}, "other message": {key, "b@x", sealed}, "short": {key, "a@x", sealed[:5]}} {
		if _, _, err := openMail(c.key, c.id, c.b); !errors.Is(err, errUnsealable) {
			t.Errorf("%s: %v, want errUnsealable", name, err)
		}
	}
}

func TestRedactLinksKeepsTheTextAndDropsTokens(t *testing.T) {
	t.Parallel()
	raw, _ := newToken()
	in := "See https://x.example/status/" + raw + ".\n<a href=\"https://x.example/download/" + raw + "\">get</a> /console/requests/status/abc"
	got, found := redactLinks(in)
	want := "See https://x.example/status/[link].\n<a href=\"https://x.example/download/[link]\">get</a> /console/requests/status/abc"
	if !found || got != want || strings.Contains(got, raw) {
		t.Fatalf("redactLinks = %q, %v", got, found)
	}
	if got, found := redactLinks("no links here"); found || got != "no links here" {
		t.Fatalf("no links: %q %v", got, found)
	}
}
