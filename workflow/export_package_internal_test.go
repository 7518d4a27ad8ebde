package workflow

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// countingSource is an in-memory packageSource of one section in chunks
// that records, each time a chunk is asked for, how many bytes the
// build had written out by then.
type countingSource struct {
	chunks  [][][]byte // rows of each chunk, as JSON text
	out     *countingWriter
	written []int64 // out's count when chunk i was asked for (JSON pass)
}

func (s *countingSource) Sections(context.Context, string) ([]db.SectionInfo, error) {
	return []db.SectionInfo{{Name: "events", Columns: []string{"id", "blob"}}}, nil
}
func (s *countingSource) Keys(context.Context, string, string) ([]string, error) { return nil, nil }
func (s *countingSource) Rows(_ context.Context, _, _ string, after int) (int, [][]byte, bool, error) {
	next := after + 1
	if next >= len(s.chunks) {
		return 0, nil, false, nil
	}
	if len(s.written) < len(s.chunks) {
		s.written = append(s.written, s.out.n)
	}
	return next, s.chunks[next], true, nil
}
func (s *countingSource) Records(context.Context, string, string, int, []string) (int, [][]string, bool, error) {
	return 0, nil, false, fmt.Errorf("an access package has no CSV")
}
func (s *countingSource) Files(context.Context, string) ([]db.AttachmentInfo, error) { return nil, nil }
func (s *countingSource) Open(context.Context, string, string) (io.ReadCloser, error) {
	return nil, fmt.Errorf("no files")
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// TestPackageBuildStreamsSectionsChunkByChunk proves the builder never
// holds a whole section: the zip bytes of each chunk's rows are written
// out before the next chunk is even read.
func TestPackageBuildStreamsSectionsChunkByChunk(t *testing.T) {
	t.Parallel()
	const chunks, rowsPerChunk, blob = 4, 64, 4096
	src := &countingSource{}
	for c := range chunks {
		var rows [][]byte
		for i := range rowsPerChunk {
			b := make([]byte, blob/2)
			_, _ = rand.Read(b) // incompressible, so the zip's output tracks its input
			j, _ := json.Marshal(map[string]any{"id": c*rowsPerChunk + i, "blob": hex.EncodeToString(b)})
			rows = append(rows, j)
		}
		src.chunks = append(src.chunks, rows)
	}
	var buf bytes.Buffer
	src.out = &countingWriter{w: &buf}
	b := packageBuild{org: &dsr.Config{}, req: &dsr.Request{ID: "r", Ref: 1, Kind: dsr.KindAccess, Regime: "gdpr"},
		tasks: []db.PackageTask{{ID: "t", System: "crm", Status: dsr.TaskDone}}, src: src, now: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)}
	if err := b.write(context.Background(), src.out); err != nil {
		t.Fatal(err)
	}
	// A chunk is about 256 KiB of rows; deflate's window is 32 KiB, so
	// chunk k is out (hex: about half its size after deflate) before chunk
	// k+1 is read.
	var chunkBytes int64
	for _, r := range src.chunks[0] {
		chunkBytes += int64(len(r))
	}
	for k := 1; k < chunks; k++ {
		if src.written[k] < int64(k)*chunkBytes/4 {
			t.Fatalf("before chunk %d was read only %d bytes were written (chunks are %d bytes): the section is held, not streamed",
				k, src.written[k], chunkBytes)
		}
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	f, err := zr.Open("crm/events.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.NewDecoder(f).Decode(&rows); err != nil || len(rows) != chunks*rowsPerChunk || rows[chunks*rowsPerChunk-1]["id"] != float64(chunks*rowsPerChunk-1) {
		t.Fatalf("events.json: %d rows, %v", len(rows), err)
	}
}
