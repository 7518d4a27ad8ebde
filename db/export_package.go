package db

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Issue #15 §3: chunked attachments (files too large for one bytea or for
// memory) and the reads the export package is built from.

// ChunkSize is the size of one stored chunk of a chunked attachment (1 MiB).
const ChunkSize = 1 << 20

// AttachmentPackage is the purpose of a built export package until the
// officer's complete hands it over as an export.
const AttachmentPackage = "package"

// ChunkWriter streams a chunked attachment into its transaction: it keeps
// at most one chunk in memory and inserts each full chunk as it goes. Size
// and SHA-256 are computed while writing; Close stores them.
type ChunkWriter struct {
	ctx  context.Context
	tx   pgx.Tx
	id   string
	seq  int
	buf  []byte
	size int64
	sum  hash.Hash
	err  error
}

// CreateChunkedAttachment inserts an empty chunked attachment and returns
// the writer for its bytes (nothing is readable as finished until Close).
func CreateChunkedAttachment(ctx context.Context, tx pgx.Tx, requestID, purpose, filename, contentType string) (*ChunkWriter, error) {
	var id string
	err := tx.QueryRow(ctx, `INSERT INTO attachments (request_id, purpose, filename, content_type, size, sha256, content, chunked)
		VALUES ($1, $2, $3, $4, 0, '\x', '\x', true) RETURNING id`, requestID, purpose, filename, contentType).Scan(&id)
	if err != nil {
		return nil, wrap("create chunked attachment", err)
	}
	return &ChunkWriter{ctx: ctx, tx: tx, id: id, buf: make([]byte, 0, ChunkSize), sum: sha256.New()}, nil
}

// ID is the attachment's id.
func (w *ChunkWriter) ID() string { return w.id }

// Size is the number of bytes written so far.
func (w *ChunkWriter) Size() int64 { return w.size }

// Write buffers p and stores every full chunk. Errors: the first failed
// insert, returned again by every later call.
func (w *ChunkWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	w.sum.Write(p)
	w.size += int64(n)
	for len(p) > 0 {
		k := min(ChunkSize-len(w.buf), len(p))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == ChunkSize {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *ChunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.tx.Exec(w.ctx, `INSERT INTO attachment_chunks (attachment_id, seq, data) VALUES ($1, $2, $3)`, w.id, w.seq, w.buf); err != nil {
		w.err = wrap("insert attachment chunk", err)
		return w.err
	}
	w.seq++
	w.buf = w.buf[:0]
	return nil
}

// Close stores the last chunk and the attachment's size and SHA-256.
func (w *ChunkWriter) Close() error {
	if err := w.flush(); err != nil {
		return err
	}
	_, err := w.tx.Exec(w.ctx, `UPDATE attachments SET size = $2, sha256 = $3 WHERE id = $1`, w.id, w.size, w.sum.Sum(nil))
	return wrap("finish chunked attachment", err)
}

// AttachmentStream is one stored document opened for reading.
type AttachmentStream struct {
	Filename    string
	ContentType string
	Size        int64
	Body        io.ReadCloser
}

// OpenAttachment opens one document of a request ("" purpose: any) for
// reading. A chunked file is read one chunk at a time through q (a pool:
// the reads happen after this call returns); a single-bytea file is
// loaded. Errors: ENOTFOUND.
func OpenAttachment(ctx context.Context, q Querier, requestID, id, purpose string) (*AttachmentStream, error) {
	var s AttachmentStream
	var chunked bool
	var attID string
	err := q.QueryRow(ctx, `SELECT id::text, filename, content_type, size, chunked FROM attachments
		WHERE id::text = $2 AND request_id = $1 AND ($3 = '' OR purpose = $3)`, requestID, id, purpose).
		Scan(&attID, &s.Filename, &s.ContentType, &s.Size, &chunked)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "file not found")
	}
	if err != nil {
		return nil, wrap("open attachment", err)
	}
	if chunked {
		s.Body = &chunkReader{ctx: ctx, q: q, id: attID}
		return &s, nil
	}
	var content []byte
	if err := q.QueryRow(ctx, `SELECT content FROM attachments WHERE id = $1`, attID).Scan(&content); err != nil {
		return nil, wrap("attachment content", err)
	}
	s.Body = io.NopCloser(bytes.NewReader(content))
	return &s, nil
}

// chunkReader reads a chunked attachment one chunk per query, holding at
// most one chunk.
type chunkReader struct {
	ctx  context.Context
	q    Querier
	id   string
	seq  int
	buf  []byte
	done bool
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.done {
			return 0, io.EOF
		}
		err := r.q.QueryRow(r.ctx, `SELECT data FROM attachment_chunks WHERE attachment_id = $1 AND seq = $2`, r.id, r.seq).Scan(&r.buf)
		if errors.Is(err, pgx.ErrNoRows) {
			r.done = true
			continue
		}
		if err != nil {
			return 0, wrap("read attachment chunk", err)
		}
		r.seq++
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *chunkReader) Close() error { r.done, r.buf = true, nil; return nil }

// PackageTask is one task of a request as the export package shows it.
type PackageTask struct {
	ID     string
	System string
	Kind   dsr.Kind
	Status dsr.TaskStatus
	Basis  string
	Count  int
	Note   string
}

// PackageTasks lists a request's tasks by system name.
func PackageTasks(ctx context.Context, q Querier, requestID string) ([]PackageTask, error) {
	rows, err := q.Query(ctx, `SELECT id::text, system, kind, status, basis, count, note FROM tasks
		WHERE request_id = $1 ORDER BY system`, requestID)
	if err != nil {
		return nil, wrap("package tasks", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (PackageTask, error) {
		var t PackageTask
		err := row.Scan(&t.ID, &t.System, &t.Kind, &t.Status, &t.Basis, &t.Count, &t.Note)
		return t, err
	})
}

// CountTasks returns how many tasks a request has and how many of them
// are open (pending, running or waiting).
func CountTasks(ctx context.Context, q Querier, requestID string) (total, open int, err error) {
	err = q.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status IN ('pending', 'running', 'waiting'))
		FROM tasks WHERE request_id = $1`, requestID).Scan(&total, &open)
	return total, open, wrap("count tasks", err)
}

// SectionInfo names one section of a task's data with its declared
// columns (those of its first chunk; empty when the system gave none).
type SectionInfo struct {
	Name    string
	Columns []string
}

// TaskSectionList lists a task's sections by name.
func TaskSectionList(ctx context.Context, q Querier, taskID string) ([]SectionInfo, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT ON (section) section, columns FROM task_sections
		WHERE task_id = $1 ORDER BY section, seq`, taskID)
	if err != nil {
		return nil, wrap("task sections", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (SectionInfo, error) {
		var s SectionInfo
		err := row.Scan(&s.Name, &s.Columns)
		return s, err
	})
}

// SectionKeys returns the union of the keys of a section's row objects,
// sorted (the CSV header when the system declared no columns).
func SectionKeys(ctx context.Context, q Querier, taskID, section string) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT k FROM task_sections s, jsonb_array_elements(s.rows) e(r), jsonb_object_keys(e.r) k
		WHERE s.task_id = $1 AND s.section = $2 AND jsonb_typeof(s.rows) = 'array' AND jsonb_typeof(e.r) = 'object' ORDER BY k`, taskID, section)
	if err != nil {
		return nil, wrap("section keys", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// chunkAfter is the first chunk of a section after seq $3, its rows as
// elements (one row with r NULL for an empty chunk, so that an empty
// chunk is told from the end).
const chunkAfter = `(SELECT seq, rows FROM task_sections WHERE task_id = $1 AND section = $2 AND seq > $3 ORDER BY seq LIMIT 1) s
	LEFT JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(s.rows) = 'array' THEN s.rows ELSE '[]' END) WITH ORDINALITY e(r, i) ON true`

// SectionRows returns the first chunk of a section after seq afterSeq
// (-1 for the first): its seq and its rows, each as JSON text, in order.
// PostgreSQL splits the chunk, so the caller parses nothing. ok is false
// after the last chunk.
func SectionRows(ctx context.Context, q Querier, taskID, section string, afterSeq int) (seq int, rows [][]byte, ok bool, err error) {
	res, err := q.Query(ctx, `SELECT s.seq, e.r::text FROM `+chunkAfter+` ORDER BY e.i`, taskID, section, afterSeq)
	if err != nil {
		return 0, nil, false, wrap("section rows", err)
	}
	defer res.Close()
	for res.Next() {
		var row []byte
		if err := res.Scan(&seq, &row); err != nil {
			return 0, nil, false, wrap("section rows", err)
		}
		ok = true
		if row != nil {
			rows = append(rows, row)
		}
	}
	return seq, rows, ok, wrap("section rows", res.Err())
}

// SectionRecords is SectionRows as CSV records: per row the text of each
// of cols (strings as they are, numbers and booleans as JSON, objects and
// arrays as JSON text, null or missing empty).
func SectionRecords(ctx context.Context, q Querier, taskID, section string, afterSeq int, cols []string) (seq int, records [][]string, ok bool, err error) {
	res, err := q.Query(ctx, `SELECT s.seq, CASE WHEN e.r IS NOT NULL THEN
			ARRAY(SELECT coalesce(e.r ->> c, '') FROM unnest($4::text[]) WITH ORDINALITY u(c, k) ORDER BY k) END
		FROM `+chunkAfter+` ORDER BY e.i`, taskID, section, afterSeq, cols)
	if err != nil {
		return 0, nil, false, wrap("section records", err)
	}
	defer res.Close()
	for res.Next() {
		var rec []string
		var present bool
		if err := res.Scan(&seq, &rec); err != nil {
			return 0, nil, false, wrap("section records", err)
		}
		ok, present = true, rec != nil
		if present {
			records = append(records, rec)
		}
	}
	return seq, records, ok, wrap("section records", res.Err())
}

// TaskFiles lists the files a system uploaded for its task (purpose 'task').
func TaskFiles(ctx context.Context, q Querier, taskID string) ([]AttachmentInfo, error) {
	rows, err := q.Query(ctx, `SELECT id, purpose, filename, content_type, size, created_at FROM attachments
		WHERE task_id = $1 AND purpose = 'task' ORDER BY created_at, filename, id`, taskID)
	if err != nil {
		return nil, wrap("task files", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (AttachmentInfo, error) {
		var a AttachmentInfo
		err := row.Scan(&a.ID, &a.Purpose, &a.Filename, &a.ContentType, &a.Size, &a.CreatedAt)
		return a, err
	})
}

// ExportPackage is the built package of a request.
type ExportPackage struct {
	AttachmentID string
	Purpose      string // 'package', or 'export' once handed over
	Systems      int
	Size         int64
	BuiltAt      time.Time
	// TasksDigest is TasksDigest of the tasks it was built from (nil for
	// a package built before migration 026).
	TasksDigest []byte
}

// TasksDigest is the SHA-256 of a request's tasks as a package sees
// them: each task's id, status and revision (bumped by every change of
// status or result). Two equal digests mean no task changed in between.
func TasksDigest(ctx context.Context, q Querier, requestID string) ([]byte, error) {
	var d []byte
	err := q.QueryRow(ctx, `SELECT `+tasksDigestOf("$1::uuid"), requestID).Scan(&d)
	return d, wrap("tasks digest", err)
}

// tasksDigestOf is TasksDigest as an SQL expression for the request id
// expression id.
func tasksDigestOf(id string) string {
	return `(SELECT sha256(convert_to(coalesce(string_agg(d.id::text || ':' || d.status || ':' || d.revision, ',' ORDER BY d.id), ''), 'UTF8'))
		FROM tasks d WHERE d.request_id = ` + id + `)`
}

// HoldRequest takes a key-share lock on the request in tx (the lock the
// package's attachment row takes anyway): changes to the request and its
// tasks, which lock it FOR UPDATE first, wait until tx ends.
func HoldRequest(ctx context.Context, tx pgx.Tx, requestID string) error {
	_, err := tx.Exec(ctx, `SELECT 1 FROM requests WHERE id = $1 FOR KEY SHARE`, requestID)
	return wrap("hold request", err)
}

// DropPackage deletes the request's built package that was not handed
// over (its tasks changed: it is stale) and reports whether there was
// one.
func DropPackage(ctx context.Context, q Querier, requestID string) (bool, error) {
	tag, err := q.Exec(ctx, `DELETE FROM attachments a USING export_packages p
		WHERE p.request_id = $1 AND a.id = p.attachment_id AND a.purpose = 'package'`, requestID)
	if err != nil {
		return false, wrap("drop package", err)
	}
	return tag.RowsAffected() > 0, nil
}

// SavePackage records attachmentID, built from tasks with digest, as the
// request's package, replacing (and deleting) an earlier one that was not
// handed over.
func SavePackage(ctx context.Context, tx pgx.Tx, requestID, attachmentID string, systems int, digest []byte, at time.Time) error {
	var old *string
	err := tx.QueryRow(ctx, `SELECT attachment_id::text FROM export_packages WHERE request_id = $1 FOR UPDATE`, requestID).Scan(&old)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return wrap("save package", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO export_packages (request_id, attachment_id, systems, built_at, tasks_digest) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (request_id) DO UPDATE SET attachment_id = excluded.attachment_id, systems = excluded.systems, built_at = excluded.built_at,
			tasks_digest = excluded.tasks_digest`,
		requestID, attachmentID, systems, at, digest); err != nil {
		return wrap("save package", err)
	}
	if old == nil || *old == attachmentID {
		return nil
	}
	_, err = tx.Exec(ctx, `DELETE FROM attachments WHERE id = $1 AND purpose = 'package'`, *old)
	return wrap("replace package", err)
}

// PackageFor returns the request's built package, nil when none is built.
func PackageFor(ctx context.Context, q Querier, requestID string) (*ExportPackage, error) {
	var p ExportPackage
	err := q.QueryRow(ctx, `SELECT p.attachment_id::text, a.purpose, p.systems, a.size, p.built_at, p.tasks_digest
		FROM export_packages p JOIN attachments a ON a.id = p.attachment_id WHERE p.request_id = $1`, requestID).
		Scan(&p.AttachmentID, &p.Purpose, &p.Systems, &p.Size, &p.BuiltAt, &p.TasksDigest)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("package", err)
	}
	return &p, nil
}

// HandOverPackage makes the built package an export of its request, so
// the subject's download link serves it. Errors: ECONFLICT when it is no
// longer a package waiting to be handed over.
func HandOverPackage(ctx context.Context, tx pgx.Tx, attachmentID string) error {
	tag, err := tx.Exec(ctx, `UPDATE attachments SET purpose = 'export' WHERE id = $1 AND purpose = 'package'`, attachmentID)
	if err != nil {
		return wrap("hand over package", err)
	}
	if tag.RowsAffected() != 1 {
		return dsr.Errorf(dsr.ECONFLICT, "The export package was already handed over.")
	}
	return nil
}
