package dsr

import (
	"context"
	"sort"
)

// Fulfilment (issue #15): the organisation's data systems and the work a
// request asks of each. This file holds the shared vocabulary: the config
// shape of a system and its connector, the statuses of a task, and the
// work order and report that pass between the engine and a connector.
// Validation, planning and the connectors themselves live beside it
// (systems.go, plan_tasks.go) and in db/connector and notify/webhook.

// System is one data system the organisation runs, as configured under
// "systems". Secrets are never in the file: the DSN or signing secret
// comes from DSR_SYSTEM_<NAME>_DSN / DSR_SYSTEM_<NAME>_SECRET (EnvName).
type System struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	OwnerEmail  string    `json:"owner_email"`
	Kinds       []Kind    `json:"kinds"`
	Connector   Connector `json:"connector"`
	// MarginDays is how many days before the request's effective due date
	// the system's task is due (default 3).
	MarginDays *int `json:"margin_days"`
	// Holds describes, for the export package's README.html, what the
	// system holds in plain words and the information the regimes require
	// with an access answer (GDPR Art. 15(1)).
	Holds SystemHolds `json:"holds"`
}

// SystemHolds is the plain-words description of a system's data.
type SystemHolds struct {
	Summary    string   `json:"summary"`
	Purposes   []string `json:"purposes"`
	Categories []string `json:"categories"`
	Recipients []string `json:"recipients"`
	Retention  string   `json:"retention"`
	Source     string   `json:"source"`
}

// Connector types.
const (
	ConnectorWebhook  = "webhook"
	ConnectorPostgres = "postgres"
	ConnectorMySQL    = "mysql"
	ConnectorManual   = "manual"
)

// Connector says how DSR Desk reaches a system.
type Connector struct {
	Type string `json:"type"`
	// URL is the webhook endpoint (webhook only).
	URL string `json:"url"`
	// Per-kind SQL (postgres, mysql). Named parameters (:email,
	// :email_sha256, :request_id, :task_id, and for rectification the
	// correction's field names) are bound by the driver, never
	// interpolated.
	Access        []Query `json:"access"`
	Portability   []Query `json:"portability"` // empty: Access is used
	Erasure       []Query `json:"erasure"`
	Rectification []Query `json:"rectification"`
	OptOut        []Query `json:"opt_out"`
	Restriction   []Query `json:"restriction"`
	// DryRun runs access queries and reports what erasure would touch
	// (row counts) without writing.
	DryRun bool `json:"dry_run"`
	// StatementTimeout bounds each statement ("5s"; default 10s).
	StatementTimeout string `json:"statement_timeout"`
	// RowLimit bounds the rows one access query may return (default 10000).
	RowLimit int `json:"row_limit"`
}

// Query is one configured SQL statement; for access, Section names the
// part of the export its rows become.
type Query struct {
	Section string `json:"section"`
	SQL     string `json:"sql"`
}

// TaskStatus is where one system's part of a request stands.
type TaskStatus string

// The task statuses. A task is open while pending, running or waiting.
const (
	TaskPending  TaskStatus = "pending"   // created, its job not yet run
	TaskRunning  TaskStatus = "running"   // connector attempt under way or retrying
	TaskWaiting  TaskStatus = "waiting"   // webhook accepted / manual mailed: waiting for the system's report
	TaskDone     TaskStatus = "done"      // the system did the work
	TaskNotFound TaskStatus = "not_found" // the system holds nothing about the person
	TaskKept     TaskStatus = "kept"      // the system keeps the data on a legal basis (Basis)
	TaskFailed   TaskStatus = "failed"    // gave up (the officer may retry)
	TaskSkipped  TaskStatus = "skipped"   // the officer skipped it with a reason
)

// Open reports whether the task still needs work.
func (s TaskStatus) Open() bool {
	return s == TaskPending || s == TaskRunning || s == TaskWaiting
}

// Work is the order a connector carries out: what to do for whom. It
// holds the requester's email, so it is built when the job runs from the
// database and never stored in job args.
type Work struct {
	TaskID     string            `json:"task_id"`
	RequestID  string            `json:"request_id"`
	System     string            `json:"system"`
	Kind       Kind              `json:"kind"`
	Regime     string            `json:"regime"`
	Due        Date              `json:"due"`
	Email      string            `json:"email"`
	Correction map[string]string `json:"correction,omitempty"`
}

// Report is what a connector or a system's callback says about a task.
type Report struct {
	Status TaskStatus `json:"status"`
	Basis  string     `json:"basis,omitempty"` // legal basis when kept
	Count  int        `json:"count"`           // rows found or affected
	// Affected lists, per erasure/rectification statement, the rows it
	// touched (or would touch, in a dry run).
	Affected []Affected `json:"affected,omitempty"`
	// Sections is the data found, by export section.
	Sections []Section `json:"sections,omitempty"`
	DryRun   bool      `json:"dry_run,omitempty"`
	Note     string    `json:"note,omitempty"`
}

// Affected is the row count of one write statement.
type Affected struct {
	Statement int   `json:"statement"` // index in the configured list
	Rows      int64 `json:"rows"`
}

// Section is one named table of rows in the export.
type Section struct {
	Name    string           `json:"name"`
	Columns []string         `json:"columns"`
	Rows    []map[string]any `json:"rows"`
}

// TaskRunner carries out Work against one system. A returned error is a
// failed attempt (connector down, 5xx, timeout): the job retries with
// backoff and records the error text as the task's last error. A Report
// with Status TaskWaiting means the system accepted the work and will
// report through POST /api/v1/tasks/{task_id}.
type TaskRunner interface {
	Run(ctx context.Context, w Work) (Report, error)
}

// NewSection is the export section name holding rows, its columns the
// sorted union of the rows' keys (rows of one section may differ).
func NewSection(name string, rows []map[string]any) Section {
	seen := map[string]bool{}
	var cols []string
	for _, r := range rows {
		for k := range r {
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	sort.Strings(cols)
	return Section{Name: name, Columns: cols, Rows: rows}
}
