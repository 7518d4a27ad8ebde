package db_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
)

// Migration 010 redacts the links of mail stored before sealing: a row
// with live verify, status and download URLs keeps its text but no token.
func TestMigrationRedactsStoredLinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	tok := strings.Repeat("Ab0_-", 8) + "xyz" // 43 base64url characters, as minted
	text := "Confirm: https://privacy.example/verify/" + tok + "\nStatus: https://privacy.example/status/" + tok + "X\n" +
		"Download: https://privacy.example/download/" + tok + "\nConsole: https://privacy.example/console/requests/status/short\n"
	html := `<a href="https://privacy.example/status/` + tok + `">https://privacy.example/status/` + tok + `</a>`
	var id string
	if err := pool.QueryRow(ctx, `INSERT INTO messages (event, recipient_role, to_email, from_email, subject, text_body, html_body, message_id, status)
		VALUES ('received', 'subject', 'old@example.com', 'privacy@example.com', 'Please confirm', $1, $2, 'old-1@example.com', 'sent') RETURNING id`,
		text, html).Scan(&id); err != nil {
		t.Fatal(err)
	}
	ms, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var m010 string
	for _, m := range ms {
		if m.Name == "010_sealed_mail" {
			m010 = m.SQL
		}
	}
	if m010 == "" {
		t.Fatal("no migration 010_sealed_mail")
	}
	// Run the migration file as written, on the table as it was before.
	if _, err := pool.Exec(ctx, `ALTER TABLE messages DROP COLUMN sealed`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, m010); err != nil {
		t.Fatalf("migration 010: %v", err)
	}
	got, err := db.GetMessage(ctx, pool, id, false)
	if err != nil {
		t.Fatal(err)
	}
	want := "Confirm: https://privacy.example/verify/[link]\nStatus: https://privacy.example/status/[link]\n" +
		"Download: https://privacy.example/download/[link]\nConsole: https://privacy.example/console/requests/status/short\n"
	if got.TextBody != want || strings.Contains(got.HTMLBody, tok) || strings.Count(got.HTMLBody, "/status/[link]") != 2 || got.Sealed != nil {
		t.Fatalf("after migration 010:\ntext %q\nhtml %q\nsealed %v", got.TextBody, got.HTMLBody, got.Sealed)
	}
}
