package dbtest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Test and benchmark seeding for the export package (issue #15 §3): tasks,
// their sections and their uploaded files written directly, without the
// tasks engine.

// SeedTask inserts a task of a request for system with the given kind and
// status (finished now when not open) and returns its id. A task the
// engine already created for that system is overwritten with the status.
func SeedTask(ctx context.Context, pool *pgxpool.Pool, requestID, system, kind, status, basis string) (string, error) {
	var id string
	err := pool.QueryRow(ctx, `INSERT INTO tasks (request_id, system, kind, connector, status, due_on, basis, created_at, updated_at, finished_at)
		VALUES ($1, $2, $3, 'manual', $4, current_date + 10, $5, now(), now(),
		        CASE WHEN $4 IN ('pending', 'running', 'waiting') THEN NULL ELSE now() END)
		ON CONFLICT (request_id, system) DO UPDATE SET status = EXCLUDED.status, basis = EXCLUDED.basis,
		        updated_at = EXCLUDED.updated_at, finished_at = EXCLUDED.finished_at
		RETURNING id::text`,
		requestID, system, kind, status, basis).Scan(&id)
	return id, err
}

// SetTaskStatus changes a task's status.
func SetTaskStatus(ctx context.Context, pool *pgxpool.Pool, taskID, status string) error {
	_, err := pool.Exec(ctx, `UPDATE tasks SET status = $2, updated_at = now() WHERE id = $1`, taskID, status)
	return err
}

// SeedSection stores one chunk of a task's section: columns and rows
// (row objects), marshalled to JSON.
func SeedSection(ctx context.Context, pool *pgxpool.Pool, taskID, section string, seq int, columns []string, rows []map[string]any) error {
	if columns == nil {
		columns = []string{}
	}
	cols, err := json.Marshal(columns)
	if err != nil {
		return err
	}
	body, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `INSERT INTO task_sections (task_id, section, seq, columns, rows) VALUES ($1, $2, $3, $4, $5)`,
		taskID, section, seq, cols, body)
	return err
}

// SeedTaskFile stores a file a system uploaded for its task (purpose
// 'task') and returns its attachment id.
func SeedTaskFile(ctx context.Context, pool *pgxpool.Pool, requestID, taskID, filename, contentType string, content []byte) (string, error) {
	sum := sha256.Sum256(content)
	var id string
	err := pool.QueryRow(ctx, `INSERT INTO attachments (request_id, task_id, purpose, filename, content_type, size, sha256, content)
		VALUES ($1, $2, 'task', $3, $4, $5, $6, $7) RETURNING id::text`,
		requestID, taskID, filename, contentType, len(content), sum[:], content).Scan(&id)
	return id, err
}

// SeedBigSection fills one section of a task with about totalBytes of
// row data, set-based: chunks of rowsPerChunk generated rows, each an
// object of an id, an email-like text, a timestamp and a note of about
// padBytes random base64 characters (random, so the package's deflate
// cannot shrink it much). It returns the number of rows. For benchmarks.
func SeedBigSection(ctx context.Context, pool *pgxpool.Pool, taskID, section string, totalBytes int64, rowsPerChunk, padBytes int) (int64, error) {
	rowBytes := int64(padBytes + 100) // the note plus the other fields and JSON syntax
	chunks := (totalBytes/rowBytes + int64(rowsPerChunk) - 1) / int64(rowsPerChunk)
	md5s := (padBytes*3/4 + 15) / 16 // 16 random bytes each
	_, err := pool.Exec(ctx, `INSERT INTO task_sections (task_id, section, seq, columns, rows)
		SELECT $1, $2, c, '["id", "email", "seen_at", "note"]',
		       (SELECT jsonb_agg(jsonb_build_object('id', c * $3 + g, 'email', 'user' || (c * $3 + g) || '@example.com',
		                         'seen_at', '2026-01-01T00:00:00Z',
		                         'note', (SELECT translate(encode(decode(string_agg(md5(random()::text || g || k), ''), 'hex'), 'base64'), E'\n', '')
		                                  FROM generate_series(1, $4) k)))
		        FROM generate_series(1, $3) g)
		FROM generate_series(0, $5::int - 1) c`, taskID, section, rowsPerChunk, md5s, chunks)
	if err != nil {
		return 0, fmt.Errorf("seed big section: %w", err)
	}
	return chunks * int64(rowsPerChunk), nil
}
