package db_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
)

// A chunked attachment is stored in 1 MiB chunks as it is written and
// read back whole, with its size and SHA-256 computed on the way.
func TestChunkedAttachmentRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	if err := dbtest.SeedRequests(ctx, pool, 1); err != nil {
		t.Fatal(err)
	}
	var requestID string
	if err := pool.QueryRow(ctx, `SELECT id::text FROM requests LIMIT 1`).Scan(&requestID); err != nil {
		t.Fatal(err)
	}
	content := make([]byte, 2*db.ChunkSize+db.ChunkSize/2)
	_, _ = rand.Read(content)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w, err := db.CreateChunkedAttachment(ctx, tx, requestID, db.AttachmentPackage, "p.zip", "application/zip")
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(content); off += 7777 { // writes that straddle chunk borders
		if _, err := w.Write(content[off:min(off+7777, len(content))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var chunks int
	var sum []byte
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM attachment_chunks WHERE attachment_id = a.id), a.sha256 FROM attachments a WHERE a.id = $1`, w.ID()).Scan(&chunks, &sum); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(content)
	if chunks != 3 || !bytes.Equal(sum, want[:]) {
		t.Fatalf("%d chunks, sha256 %x", chunks, sum)
	}
	a, err := db.OpenAttachment(ctx, pool, requestID, w.ID(), db.AttachmentPackage)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Body.Close()
	got, err := io.ReadAll(a.Body)
	if err != nil || a.Size != int64(len(content)) || !bytes.Equal(got, content) {
		t.Fatalf("read back %d bytes (size %d), %v", len(got), a.Size, err)
	}
	if _, err := db.OpenAttachment(ctx, pool, requestID, w.ID(), "export"); err == nil {
		t.Fatal("a package opened as an export before it was handed over")
	}
}
