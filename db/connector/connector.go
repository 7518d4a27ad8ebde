// Package connector runs a system's configured SQL against its own
// PostgreSQL or MySQL/MariaDB database for a fulfilment task (issue #15):
// access and portability queries in one read-only transaction, each
// becoming a section of the export; erasure, rectification, opt-out and
// restriction statements in one read-write transaction, with the rows
// each touched. Named parameters (:email, :email_sha256, :request_id,
// :task_id, and for rectification the correction's fields) become driver
// placeholders and are bound by the driver, never interpolated.
package connector

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Defaults of the connector config.
const (
	DefaultStatementTimeout = 10 * time.Second
	DefaultRowLimit         = 10000
)

// NoteDryRun is the note of every dry-run report.
const NoteDryRun = "dry run: nothing was changed"

// SQLRunner is the dsr.TaskRunner of a postgres or mysql system. It is
// safe for concurrent use; Close releases its connections.
type SQLRunner struct {
	system   string
	dryRun   bool
	timeout  time.Duration
	rowLimit int
	plans    map[dsr.Kind][]query
	db       backend
}

// query is one configured statement, compiled for the driver.
type query struct {
	index   int    // position in the configured list, for Affected and errors
	section string // access: the export section
	stmt    statement
}

// backend is what differs between PostgreSQL and MySQL: transactions,
// timeouts and reading values.
type backend interface {
	// read runs qs in one read-only transaction and returns one section
	// per query; more than limit rows from one query is an error.
	read(ctx context.Context, qs []query, args func(statement) []any, limit int, timeout time.Duration) ([]dsr.Section, error)
	// write runs qs in one read-write transaction, committed when commit
	// is set and rolled back otherwise, and returns the rows each touched.
	write(ctx context.Context, qs []query, args func(statement) []any, commit bool, timeout time.Duration) ([]dsr.Affected, error)
	close()
}

// writeKinds are the kinds whose statements change the system's data.
var writeKinds = map[dsr.Kind]bool{
	dsr.KindErasure: true, dsr.KindRectification: true, dsr.KindOptOut: true, dsr.KindRestriction: true,
}

// newRunner validates the connector config of sys and compiles its
// statements for d. Errors: EINVALID naming the field (a bad
// statement_timeout or row_limit, SQL that does not tokenize, or a
// parameter other than the standard ones outside rectification).
func newRunner(sys dsr.System, d dialect) (*SQLRunner, error) {
	c := sys.Connector
	field := func(f string) string { return "systems." + sys.Name + ".connector." + f }
	r := &SQLRunner{
		system:   sys.Name,
		dryRun:   c.DryRun,
		timeout:  DefaultStatementTimeout,
		rowLimit: DefaultRowLimit,
		plans:    map[dsr.Kind][]query{},
	}
	fe := dsr.FieldErrors{}
	if c.StatementTimeout != "" {
		t, err := time.ParseDuration(c.StatementTimeout)
		if err != nil || t <= 0 {
			fe.Add(field("statement_timeout"), fmt.Sprintf("%q is not a positive duration such as \"5s\"", c.StatementTimeout))
		} else {
			r.timeout = t
		}
	}
	switch {
	case c.RowLimit < 0:
		fe.Add(field("row_limit"), "must not be negative")
	case c.RowLimit > 0:
		r.rowLimit = c.RowLimit
	}
	lists := []struct {
		name string
		kind dsr.Kind
		qs   []dsr.Query
	}{
		{"access", dsr.KindAccess, c.Access},
		{"portability", dsr.KindPortability, c.Portability},
		{"erasure", dsr.KindErasure, c.Erasure},
		{"rectification", dsr.KindRectification, c.Rectification},
		{"opt_out", dsr.KindOptOut, c.OptOut},
		{"restriction", dsr.KindRestriction, c.Restriction},
	}
	for _, l := range lists {
		for i, q := range l.qs {
			f := field(fmt.Sprintf("%s[%d].sql", l.name, i))
			if strings.TrimSpace(q.SQL) == "" {
				fe.Add(f, "is empty")
				continue
			}
			st, err := compile(q.SQL, d)
			if err != nil {
				fe.Add(f, err.Error())
				continue
			}
			if l.kind != dsr.KindRectification {
				if bad := unknownParams(st.Params); len(bad) > 0 {
					fe.Add(f, fmt.Sprintf("unknown parameter :%s (use :email, :email_sha256, :request_id or :task_id)", bad[0]))
					continue
				}
			}
			section := q.Section
			if section == "" {
				section = fmt.Sprintf("%s_%d", l.name, i+1)
			}
			r.plans[l.kind] = append(r.plans[l.kind], query{index: i, section: section, stmt: st})
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	if len(r.plans[dsr.KindPortability]) == 0 {
		r.plans[dsr.KindPortability] = r.plans[dsr.KindAccess]
	}
	return r, nil
}

func unknownParams(ps []string) []string {
	var bad []string
	for _, p := range ps {
		if !standardParams[p] {
			bad = append(bad, p)
		}
	}
	return bad
}

// Close releases the runner's connections.
func (r *SQLRunner) Close() { r.db.close() }

// Run carries out w. Access and portability: the rows of every query,
// one section each, Count the total; no rows at all is TaskNotFound.
// Writes: the rows each statement touched in Affected, Count their sum;
// no row touched is TaskNotFound. With dry_run, write statements run in a
// transaction that is always rolled back, and the report has DryRun, the
// access sections, the counts they would touch, status done and
// NoteDryRun. Errors (the job retries): the database unreachable, a
// statement failing or timing out, "row limit N reached" (an export must
// be whole, so a cut-off answer is not a report), or no statements
// configured for the kind.
func (r *SQLRunner) Run(ctx context.Context, w dsr.Work) (dsr.Report, error) {
	qs := r.plans[w.Kind]
	if len(qs) == 0 {
		return dsr.Report{}, fmt.Errorf("system %s has no %s statements configured", r.system, w.Kind)
	}
	if !writeKinds[w.Kind] {
		return r.access(ctx, qs, w)
	}
	var notes []string
	if w.Kind == dsr.KindRectification {
		var err error
		if qs, notes, err = rectification(qs, w.Correction); err != nil {
			return dsr.Report{}, err
		}
	}
	args := binder(w)
	var rep dsr.Report
	if r.dryRun {
		if aq := r.plans[dsr.KindAccess]; len(aq) > 0 {
			secs, err := r.db.read(ctx, aq, args, r.rowLimit, r.timeout)
			if err != nil {
				return dsr.Report{}, err
			}
			rep.Sections = secs
		}
	}
	aff, err := r.db.write(ctx, qs, args, !r.dryRun, r.timeout)
	if err != nil {
		return dsr.Report{}, err
	}
	rep.Affected = aff
	for _, a := range aff {
		rep.Count += int(a.Rows)
	}
	rep.Status = dsr.TaskDone
	if r.dryRun {
		rep.DryRun = true
		notes = append([]string{NoteDryRun}, notes...)
	} else if rep.Count == 0 {
		rep.Status = dsr.TaskNotFound
	}
	rep.Note = strings.Join(notes, "; ")
	return rep, nil
}

func (r *SQLRunner) access(ctx context.Context, qs []query, w dsr.Work) (dsr.Report, error) {
	secs, err := r.db.read(ctx, qs, binder(w), r.rowLimit, r.timeout)
	if err != nil {
		return dsr.Report{}, err
	}
	rep := dsr.Report{Status: dsr.TaskDone, Sections: secs}
	for _, s := range secs {
		rep.Count += len(s.Rows)
	}
	if rep.Count == 0 {
		return dsr.Report{Status: dsr.TaskNotFound}, nil
	}
	return rep, nil
}

// rectification keeps the statements whose parameters the correction
// supplies: a statement for a field the person did not correct must not
// run (it would write NULL over good data). Notes say what was skipped
// and which corrected fields no statement takes. Error: no statement
// applies, so nothing of the correction would be carried out.
func rectification(qs []query, corr map[string]string) ([]query, []string, error) {
	var (
		keep  []query
		notes []string
		used  = map[string]bool{}
	)
	for _, q := range qs {
		var missing []string
		for _, p := range q.stmt.Params {
			if _, ok := corr[p]; !ok && !standardParams[p] {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			notes = append(notes, fmt.Sprintf("statement %d skipped: the correction has no %s", q.index, strings.Join(missing, ", ")))
			continue
		}
		for _, p := range q.stmt.Params {
			used[p] = true
		}
		keep = append(keep, q)
	}
	var unused []string
	for f := range corr {
		if !used[f] {
			unused = append(unused, f)
		}
	}
	sort.Strings(unused)
	if len(keep) == 0 {
		return nil, nil, fmt.Errorf("no rectification statement takes the corrected fields (%s)", strings.Join(unused, ", "))
	}
	if len(unused) > 0 {
		notes = append(notes, "not applied by any statement: "+strings.Join(unused, ", "))
	}
	return keep, notes, nil
}

// binder returns the values for a statement's parameters. The standard
// names win over correction fields of the same name, so :email is always
// the requester's address.
func binder(w dsr.Work) func(statement) []any {
	hash := dsr.EmailSHA256(w.Email)
	return func(st statement) []any {
		args := make([]any, len(st.Params))
		for i, p := range st.Params {
			switch p {
			case ParamEmail:
				args[i] = w.Email
			case ParamEmailSHA256:
				args[i] = hash
			case ParamRequestID:
				args[i] = w.RequestID
			case ParamTaskID:
				args[i] = w.TaskID
			default:
				args[i] = w.Correction[p]
			}
		}
		return args
	}
}

// stmtError names the statement that failed. The driver's text can quote
// a bound value ("invalid input syntax for type integer: \"ada@…\""), and
// the error becomes the task's last error, so every bound value is cut out
// of it.
func stmtError(kind string, q query, args []any, err error, timeout time.Duration) error {
	what := fmt.Sprintf("%s statement %d (%s)", kind, q.index, q.section)
	if isTimeout(err) {
		what += fmt.Sprintf(": statement timeout (%s) reached", timeout)
	}
	return &redactedError{msg: what + ": " + redact(err.Error(), args), err: err}
}

// redact replaces each non-empty string argument in s with "[value]",
// longest first so a value containing another is cut whole.
func redact(s string, args []any) string {
	var vals []string
	for _, a := range args {
		if v, ok := a.(string); ok && v != "" {
			vals = append(vals, v)
		}
	}
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	for _, v := range vals {
		s = strings.ReplaceAll(s, v, "[value]")
	}
	return s
}

// redactedError is an error whose text has had personal data cut out;
// Unwrap still gives the driver's error to errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func isTimeout(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "statement timeout") || // PostgreSQL 57014
		strings.Contains(err.Error(), "max_statement_time") || // MariaDB 1969
		strings.Contains(err.Error(), "maximum statement execution time") || // MySQL 3024
		strings.Contains(err.Error(), context.DeadlineExceeded.Error()))
}

// rowLimitError is the error of an access query that returned more rows
// than the limit.
func rowLimitError(q query, limit int) error {
	return fmt.Errorf("access statement %d (%s): row limit %d reached; raise connector.row_limit or narrow the query", q.index, q.section, limit)
}

// Validate checks the SQL connector config of sys as NewPostgres and
// NewMySQL do, without a DSN or a connection, so `check-config` can name a
// bad statement or an unknown parameter before any secret is at hand.
// Systems of other connector types are not checked here. Errors: EINVALID
// naming the field.
func Validate(sys dsr.System) error {
	var d dialect
	switch sys.Connector.Type {
	case dsr.ConnectorPostgres:
		d = dialectPG
	case dsr.ConnectorMySQL:
		d = dialectMySQL
	default:
		return nil
	}
	_, err := newRunner(sys, d)
	return err
}
