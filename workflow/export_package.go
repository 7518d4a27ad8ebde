package workflow

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/templates"
)

// Issue #15 §3: the export package. When every task of an access or
// portability request is finished, the build_export job streams a zip —
// one folder per system with a JSON (and, for portability, CSV) file per
// section and the system's uploaded files, a README.html in plain words
// and a manifest.json of SHA-256 sums — into a chunked attachment. The
// officer's complete without files hands it over as the export.

// BuildExportArgs builds the export package of a request.
type BuildExportArgs struct {
	RequestID string `json:"request_id"`
}

// Kind is the River job kind.
func (BuildExportArgs) Kind() string { return "build_export" }

// InsertOpts: unique per request among builds not yet finished, so
// asking twice before a build runs queues one, while a build that ran
// does not keep a later one (after a retried task finishes again) from
// being queued; a few attempts (a failed build rolls back whole).
func (BuildExportArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: liveJobStates}}
}

// packageBuildTries bounds how often one build starts again because the
// tasks changed while it ran.
const packageBuildTries = 3

// errPackageStale: the tasks changed while the package was built.
var errPackageStale = errors.New("the tasks changed while the package was built")

// exportBuildTimeout bounds one build (a 1 GB package took under three
// minutes on a busy 2-core machine, BENCHMARKS.md); it stays below the
// default 15-minute rescue delay. An operator's shorter RescueAfter is
// not taken into account.
const exportBuildTimeout = 10 * time.Minute

// packageKind reports whether a request of kind k is answered with an
// export package.
func packageKind(k dsr.Kind) bool { return k == dsr.KindAccess || k == dsr.KindPortability }

// dropStalePackage deletes, in tx, the request's built package that was
// not handed over yet, because one of its tasks is changing (retried,
// finished again, marked done or skipped): it no longer shows the tasks'
// results. It returns the internal event recording that, or nil when
// there was no such package. A new one is built when every task is
// finished again (queueExportIfReady).
func dropStalePackage(ctx context.Context, tx pgx.Tx, requestID string, t *dsr.Task) (*dsr.NewEvent, error) {
	dropped, err := db.DropPackage(ctx, tx, requestID)
	if err != nil || !dropped {
		return nil, err
	}
	return &dsr.NewEvent{Type: dsr.EventPackageDiscarded, Actor: dsr.ActorSystem,
		Data: map[string]string{"task": t.ID, "system": t.System}}, nil
}

// queueExportIfReady queues the build of the request's export package in
// tx when the request is an access or portability request with tasks and
// none of them open. It does nothing otherwise. The job is unique per
// request: it is queued once however often this is called.
func (e *Engine) queueExportIfReady(ctx context.Context, tx pgx.Tx, requestID string) error {
	req, err := db.GetRequest(ctx, tx, requestID, false)
	if err != nil {
		return err
	}
	if !packageKind(req.Kind) || req.Status.Closed() {
		return nil
	}
	total, open, err := db.CountTasks(ctx, tx, requestID)
	if err != nil || total == 0 || open > 0 {
		return err
	}
	if err := e.enqueue(ctx, tx, BuildExportArgs{RequestID: requestID}, nil); err != nil {
		return dsr.Internalf("insert build_export: %w", err)
	}
	return nil
}

type buildExportWorker struct {
	river.WorkerDefaults[BuildExportArgs]
	e *Engine
}

func (w *buildExportWorker) Timeout(*river.Job[BuildExportArgs]) time.Duration {
	return exportBuildTimeout
}

// Work builds the package unless the world moved on (request closed, not
// a package kind, a task open again).
func (w *buildExportWorker) Work(ctx context.Context, job *river.Job[BuildExportArgs]) error {
	_, err := w.e.BuildExportPackage(ctx, job.Args.RequestID)
	return err
}

// BuildExportPackage builds the request's export package now and records
// it (replacing one built before and not yet handed over) with the digest
// of the tasks it was built from (db.TasksDigest). It returns the
// package, or nil when the request needs none now (closed, not access or
// portability, no tasks, a task open). A package already built from the
// tasks as they are is returned as it is. When a task changes while the
// package is built, the build is thrown away and starts again (at most
// packageBuildTries times). Errors: ENOTFOUND, EINTERNAL (the tasks kept
// changing), database errors.
func (e *Engine) BuildExportPackage(ctx context.Context, requestID string) (*db.ExportPackage, error) {
	for range packageBuildTries {
		p, err := e.buildExportPackage(ctx, requestID)
		if !errors.Is(err, errPackageStale) {
			return p, err
		}
		e.log.Info("export package: the tasks changed during the build, building again", "request", requestID)
	}
	return nil, dsr.Internalf("export package of %s: the tasks kept changing during %d builds", requestID, packageBuildTries)
}

// buildExportPackage is one try of BuildExportPackage. Errors:
// errPackageStale, and BuildExportPackage's.
func (e *Engine) buildExportPackage(ctx context.Context, requestID string) (*db.ExportPackage, error) {
	// The digest is read before the tasks and compared again once the
	// request is held: a change in between throws the build away.
	digest, err := db.TasksDigest(ctx, e.pool, requestID)
	if err != nil {
		return nil, err
	}
	req, err := db.GetRequest(ctx, e.pool, requestID, false)
	if err != nil {
		return nil, err
	}
	if !packageKind(req.Kind) || req.Status.Closed() {
		return nil, nil
	}
	tasks, err := db.PackageTasks(ctx, e.pool, requestID)
	if err != nil || len(tasks) == 0 {
		return nil, err
	}
	for _, t := range tasks {
		if t.Status.Open() {
			return nil, nil
		}
	}
	if p, err := db.PackageFor(ctx, e.pool, requestID); err != nil || (p != nil && p.Purpose == db.AttachmentPackage && bytes.Equal(p.TasksDigest, digest)) {
		return p, err // built from these very tasks already
	}
	now := e.now()
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		// Held from here to commit: the tasks cannot change under the
		// build; a change before this is caught by the digest below.
		if err := db.HoldRequest(ctx, tx, requestID); err != nil {
			return err
		}
		if cur, err := db.TasksDigest(ctx, tx, requestID); err != nil || !bytes.Equal(cur, digest) {
			if err == nil {
				err = errPackageStale
			}
			return err
		}
		out, err := db.CreateChunkedAttachment(ctx, tx, requestID, db.AttachmentPackage,
			fmt.Sprintf("data-request-%d.zip", req.Ref), "application/zip")
		if err != nil {
			return err
		}
		b := packageBuild{org: e.org, req: req, tasks: tasks, src: dbPackageSource{pool: e.pool}, now: now}
		if err := b.write(ctx, out); err != nil {
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
		return db.SavePackage(ctx, tx, requestID, out.ID(), len(tasks), digest, now)
	})
	if err != nil {
		return nil, err
	}
	e.log.Info("export package built", "request", requestID, "systems", len(tasks))
	return db.PackageFor(ctx, e.pool, requestID)
}

// packageSource is where a build reads the tasks' data from, one chunk of
// a section at a time (tests wrap it to watch the streaming).
type packageSource interface {
	Sections(ctx context.Context, taskID string) ([]db.SectionInfo, error)
	Keys(ctx context.Context, taskID, section string) ([]string, error)
	// Rows returns the rows (each JSON text) of the first chunk after seq
	// after (-1: the first); ok false past the last. Records is the same
	// chunk as CSV records of cols.
	Rows(ctx context.Context, taskID, section string, after int) (seq int, rows [][]byte, ok bool, err error)
	Records(ctx context.Context, taskID, section string, after int, cols []string) (seq int, records [][]string, ok bool, err error)
	Files(ctx context.Context, taskID string) ([]db.AttachmentInfo, error)
	Open(ctx context.Context, requestID, attachmentID string) (io.ReadCloser, error)
}

type dbPackageSource struct{ pool db.Querier }

func (s dbPackageSource) Sections(ctx context.Context, taskID string) ([]db.SectionInfo, error) {
	return db.TaskSectionList(ctx, s.pool, taskID)
}

func (s dbPackageSource) Keys(ctx context.Context, taskID, section string) ([]string, error) {
	return db.SectionKeys(ctx, s.pool, taskID, section)
}

func (s dbPackageSource) Rows(ctx context.Context, taskID, section string, after int) (int, [][]byte, bool, error) {
	return db.SectionRows(ctx, s.pool, taskID, section, after)
}

func (s dbPackageSource) Records(ctx context.Context, taskID, section string, after int, cols []string) (int, [][]string, bool, error) {
	return db.SectionRecords(ctx, s.pool, taskID, section, after, cols)
}

func (s dbPackageSource) Files(ctx context.Context, taskID string) ([]db.AttachmentInfo, error) {
	return db.TaskFiles(ctx, s.pool, taskID)
}

func (s dbPackageSource) Open(ctx context.Context, requestID, id string) (io.ReadCloser, error) {
	a, err := db.OpenAttachment(ctx, s.pool, requestID, id, "task")
	if err != nil {
		return nil, err
	}
	return a.Body, nil
}

// packageBuild is one build of a package.
type packageBuild struct {
	org   *dsr.Config
	req   *dsr.Request
	tasks []db.PackageTask
	src   packageSource
	now   time.Time

	zw       *zip.Writer
	used     map[string]bool
	manifest []manifestEntry
}

type manifestEntry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// readmeSystem is one system as README.html describes it.
type readmeSystem struct {
	Name, Description, Status string
	dsr.SystemHolds
	Files []readmeFile
}

type readmeFile struct {
	Path string
	Rows int64
}

// write streams the whole zip to out: the systems' folders, README.html,
// then manifest.json.
func (b *packageBuild) write(ctx context.Context, out io.Writer) error {
	b.zw = zip.NewWriter(out)
	b.zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed) // CPU time matters more than a few percent of size
	})
	b.used = map[string]bool{} // system files are all in folders: README.html and manifest.json never collide
	var systems []readmeSystem
	for _, t := range b.tasks {
		rs, err := b.writeSystem(ctx, t)
		if err != nil {
			return err
		}
		systems = append(systems, rs)
	}
	if err := b.writeReadme(systems); err != nil {
		return err
	}
	if err := b.writeManifest(); err != nil {
		return err
	}
	return b.zw.Close()
}

// writeSystem writes one system's folder (only a done task has data).
func (b *packageBuild) writeSystem(ctx context.Context, t db.PackageTask) (readmeSystem, error) {
	sys, _ := b.org.SystemNamed(t.System)
	rs := readmeSystem{Name: t.System, Description: sys.Description, SystemHolds: sys.Holds, Status: dsr.TaskStatusWords(t.Status, t.Basis)}
	if t.Status != dsr.TaskDone {
		return rs, nil
	}
	dir := dsr.PackageSegment(t.System)
	sections, err := b.src.Sections(ctx, t.ID)
	if err != nil {
		return rs, err
	}
	for _, s := range sections {
		name := dsr.PackageSegment(s.Name)
		path, n, err := b.entry(dir+"/"+name+".json", func(w io.Writer) (int64, error) {
			return b.streamJSON(ctx, w, t.ID, s.Name)
		})
		if err != nil {
			return rs, err
		}
		rs.Files = append(rs.Files, readmeFile{Path: path, Rows: n})
		if b.req.Kind != dsr.KindPortability {
			continue
		}
		cols := s.Columns
		if len(cols) == 0 {
			if cols, err = b.src.Keys(ctx, t.ID, s.Name); err != nil {
				return rs, err
			}
		}
		path, n, err = b.entry(dir+"/"+name+".csv", func(w io.Writer) (int64, error) {
			return b.streamCSV(ctx, w, t.ID, s.Name, cols)
		})
		if err != nil {
			return rs, err
		}
		rs.Files = append(rs.Files, readmeFile{Path: path, Rows: n})
	}
	files, err := b.src.Files(ctx, t.ID)
	if err != nil {
		return rs, err
	}
	for _, f := range files {
		path, _, err := b.entry(dir+"/files/"+dsr.PackageSegment(f.Filename), func(w io.Writer) (int64, error) {
			r, err := b.src.Open(ctx, b.req.ID, f.ID)
			if err != nil {
				return 0, err
			}
			defer r.Close()
			_, err = io.Copy(w, r)
			return 0, err
		})
		if err != nil {
			return rs, err
		}
		rs.Files = append(rs.Files, readmeFile{Path: path})
	}
	return rs, nil
}

// entry adds one file at a unique path (a "-2", "-3" … before the
// extension when two names clean up alike), hashing it as fill writes
// it, and records it in the manifest. It returns the path used and
// fill's count.
func (b *packageBuild) entry(path string, fill func(w io.Writer) (int64, error)) (string, int64, error) {
	path = b.unique(path)
	zf, err := b.zw.CreateHeader(&zip.FileHeader{Name: path, Method: zip.Deflate, Modified: b.now})
	if err != nil {
		return "", 0, fmt.Errorf("package %s: %w", path, err)
	}
	hw := &hashWriter{w: zf, h: sha256.New()}
	n, err := fill(hw)
	if err != nil {
		return "", 0, err
	}
	b.manifest = append(b.manifest, manifestEntry{Path: path, Size: hw.n, SHA256: hex.EncodeToString(hw.h.Sum(nil))})
	return path, n, nil
}

func (b *packageBuild) unique(path string) string {
	if !b.used[path] {
		b.used[path] = true
		return path
	}
	base, ext := path, ""
	if i := strings.LastIndex(path, "."); i > strings.LastIndex(path, "/") {
		base, ext = path[:i], path[i:]
	}
	for i := 2; ; i++ {
		p := fmt.Sprintf("%s-%d%s", base, i, ext)
		if !b.used[p] {
			b.used[p] = true
			return p
		}
	}
}

// streamJSON writes a section as one JSON array, a row per line, one
// chunk at a time.
func (b *packageBuild) streamJSON(ctx context.Context, w io.Writer, taskID, section string) (int64, error) {
	var n int64
	if _, err := io.WriteString(w, "["); err != nil {
		return 0, err
	}
	for after := -1; ; {
		seq, rows, ok, err := b.src.Rows(ctx, taskID, section, after)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		after = seq
		for _, row := range rows {
			sep := ",\n"
			if n == 0 {
				sep = "\n"
			}
			n++
			if _, err := io.WriteString(w, sep); err != nil {
				return 0, err
			}
			if _, err := w.Write(row); err != nil {
				return 0, err
			}
		}
	}
	_, err := io.WriteString(w, "\n]\n")
	return n, err
}

// streamCSV writes a section as CSV with a header of cols, one chunk at
// a time (the values as db.SectionRecords gives them).
func (b *packageBuild) streamCSV(ctx context.Context, w io.Writer, taskID, section string, cols []string) (int64, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(cols); err != nil {
		return 0, err
	}
	var n int64
	for after := -1; ; {
		seq, records, ok, err := b.src.Records(ctx, taskID, section, after, cols)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		after = seq
		if err := cw.WriteAll(records); err != nil { // WriteAll flushes: the chunk's bytes go out now
			return 0, err
		}
		n += int64(len(records))
	}
	cw.Flush()
	return n, cw.Error()
}

var readmeTemplate = template.Must(template.New("readme.html").
	Funcs(template.FuncMap{"join": func(s []string) string { return strings.Join(s, "; ") }}).
	ParseFS(templates.FS, "package/readme.html"))

// writeReadme writes README.html: what each system holds and what the
// regime requires an access answer to tell.
func (b *packageBuild) writeReadme(systems []readmeSystem) error {
	reg, _ := dsr.LookupRegime(b.req.Regime)
	d := struct {
		Organisation, Contact, KindWords, RegimeName, RegimeShort, Built string
		Ref                                                              int64
		CSV                                                              bool
		Required, Complaints                                             []string
		Systems                                                          []readmeSystem
	}{Organisation: b.org.Organisation.Name, Contact: b.org.Organisation.ContactEmail, Ref: b.req.Ref,
		Built: dsr.DateIn(b.now, b.org.Location()).Long(), CSV: b.req.Kind == dsr.KindPortability,
		Required: dsr.AccessInformation(reg), Systems: systems, KindWords: "request to see your personal data"}
	if b.req.Kind == dsr.KindPortability {
		d.KindWords = "request for a copy of your personal data to take elsewhere"
	}
	if reg != nil {
		d.RegimeName, d.RegimeShort = reg.Name, reg.Short
		d.Complaints = b.org.ComplaintTexts(reg)
	}
	_, _, err := b.entry("README.html", func(w io.Writer) (int64, error) {
		return 0, readmeTemplate.Execute(w, d)
	})
	return err
}

// writeManifest writes manifest.json, last: path, size and SHA-256 of
// every other file.
func (b *packageBuild) writeManifest() error {
	zf, err := b.zw.CreateHeader(&zip.FileHeader{Name: "manifest.json", Method: zip.Deflate, Modified: b.now})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(zf)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Request int64           `json:"request"`
		Built   time.Time       `json:"built"`
		Files   []manifestEntry `json:"files"`
	}{b.req.Ref, b.now, b.manifest})
}

// hashWriter counts and hashes what passes through it.
type hashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (hw *hashWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

// PackageState is what the officer's complete form says about the
// request's export package.
type PackageState struct {
	Ready     bool // built from the tasks as they are and not yet handed over
	Systems   int  // systems it was built from
	Tasks     int  // the request's tasks
	OpenTasks int
}

// ExportPackageState reports whether an export package is ready to be
// handed over for the request. Errors: database errors.
func (e *Engine) ExportPackageState(ctx context.Context, requestID string) (PackageState, error) {
	var s PackageState
	var err error
	if s.Tasks, s.OpenTasks, err = db.CountTasks(ctx, e.pool, requestID); err != nil {
		return s, err
	}
	p, err := db.PackageFor(ctx, e.pool, requestID)
	if err != nil || p == nil {
		return s, err
	}
	current := true
	if p.TasksDigest != nil { // nil: built before migration 026, taken as current
		digest, err := db.TasksDigest(ctx, e.pool, requestID)
		if err != nil {
			return s, err
		}
		current = bytes.Equal(digest, p.TasksDigest)
	}
	s.Ready, s.Systems = p.Purpose == db.AttachmentPackage && current, p.Systems
	return s, nil
}

// completeWithPackage completes an access or portability request that
// has tasks, handing over its built package, when the officer attached
// no files. handled is false when the request has no tasks (or is of
// another kind): the ordinary completion applies. Errors: ECONFLICT
// (a task is open, the package is not built yet), and CompleteWith's.
func (e *Engine) completeWithPackage(ctx context.Context, requestID, actor string, c Completion) (handled bool, err error) {
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		r, head, err := db.LockRequest(ctx, tx, requestID)
		if err != nil {
			return err
		}
		if !packageKind(r.Kind) {
			return nil
		}
		total, open, err := db.CountTasks(ctx, tx, r.ID)
		if err != nil || total == 0 {
			return err
		}
		handled = true
		if r.Status.Closed() {
			return r.Status.Transition(dsr.StatusCompleted) // the closed request's own conflict
		}
		o, oerr := dsr.ParseOutcome(c.Outcome, c.Kept)
		if oerr != nil {
			return oerr
		}
		if open > 0 {
			return &dsr.Error{Code: dsr.ECONFLICT, Rule: "export package",
				Message: fmt.Sprintf("%d of the request's %d system tasks are still open; the export package is built when they finish.", open, total)}
		}
		p, err := db.PackageFor(ctx, tx, r.ID)
		if err != nil {
			return err
		}
		current := p != nil && p.TasksDigest == nil // built before migration 026: taken as current
		if p != nil && p.TasksDigest != nil {
			digest, err := db.TasksDigest(ctx, tx, r.ID)
			if err != nil {
				return err
			}
			current = bytes.Equal(digest, p.TasksDigest)
		}
		if p == nil || p.Purpose != db.AttachmentPackage || !current {
			return &dsr.Error{Code: dsr.ECONFLICT, Rule: "export package",
				Message: "The export package is still being built from the systems' data; complete the request when it is ready (the request page says so), or attach export files."}
		}
		now := e.now()
		ch, err := dsr.PlanCompletePackage(e.org, r, actor, c.Summary, c.Systems, dsr.PackageHandOver{AttachmentID: p.AttachmentID, Systems: p.Systems}, o, now)
		if err != nil {
			return err
		}
		if c.ShareWithAgent {
			shareSummaryWithAgent(&ch, c.Summary)
		}
		reg, _ := dsr.LookupRegime(r.Regime)
		ch = dsr.WithPartialAppealNotice(e.org, reg, r, o, ch, now)
		if err := db.HandOverPackage(ctx, tx, p.AttachmentID); err != nil {
			return err
		}
		_, err = e.apply(ctx, tx, r, head, ch, now)
		return err
	})
	return handled, err
}

// ExportStream is a stored file opened for streaming.
type ExportStream = db.AttachmentStream

// OpenAttachment opens one stored document of a request, whatever its
// purpose, for streaming (the caller closes Body); chunked files such as
// the export package are read a chunk at a time. Errors: ENOTFOUND, also
// when it belongs to another request.
func (e *Engine) OpenAttachment(ctx context.Context, requestID, attachmentID string) (*ExportStream, error) {
	return db.OpenAttachment(ctx, e.pool, requestID, attachmentID, "")
}

// OpenExport opens one export file behind a download link for streaming
// (chunked packages are read a chunk at a time; the caller closes Body)
// and records the download in the audit trail. Errors: ENOTFOUND, EGONE.
func (e *Engine) OpenExport(ctx context.Context, token, attachmentID string) (*ExportStream, error) {
	dl, err := e.DownloadView(ctx, token)
	if err != nil {
		return nil, err
	}
	s, err := db.OpenAttachment(ctx, e.pool, dl.Request.ID, attachmentID, "export")
	if err != nil {
		return nil, err // not this request's export: no event
	}
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		req, err := db.GetRequest(ctx, tx, dl.Request.ID, true)
		if err != nil {
			return err
		}
		return event(ctx, tx, req, dsr.ActorRequester, dsr.EventExportDownload, true, map[string]string{"attachment": attachmentID}, e.now())
	})
	if err != nil {
		s.Body.Close()
		return nil, err
	}
	return s, nil
}
