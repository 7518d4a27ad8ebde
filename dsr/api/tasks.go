package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// Tasks (issue #15): the request page's task list and its actions, the
// admin API for them, and the systems' callback.

// Bounds of a system's report.
const (
	maxReportSections = 100
	maxReportFiles    = 20
	maxReportText     = 2000 // basis, note
)

// taskView is one row of the request page's task list.
type taskView struct {
	dsr.Task
	Label       string
	Description string
	Owner       string
	Overdue     bool
	CanRetry    bool
	CanFinish   bool
}

// taskViews are the request's tasks as the console shows them.
func (s *Server) taskViews(ctx context.Context, req *dsr.Request) ([]taskView, error) {
	tasks, err := s.engine.Tasks(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	today := s.today()
	out := make([]taskView, 0, len(tasks))
	for _, t := range tasks {
		v := taskView{Task: t, Label: t.Status.Label(), Overdue: (t.Status.Open() || t.Status == dsr.TaskFailed) && t.DueOn.Before(today)}
		if sys, ok := s.org.System(t.System); ok {
			v.Description, v.Owner = sys.Description, sys.OwnerEmail
		}
		v.CanRetry = t.Status == dsr.TaskFailed || t.Status == dsr.TaskWaiting || t.Status == dsr.TaskRunning
		v.CanFinish = t.Status.Open() || t.Status == dsr.TaskFailed
		out = append(out, v)
	}
	return out, nil
}

// taskInput is an officer's decision on a task: the note of done (with
// files), the reason of skip.
type taskInput struct {
	Note   string     `json:"note"`
	Reason string     `json:"reason"`
	Files  []dsr.File `json:"-"`
}

// runTaskAction runs retry, done or skip on a task of request id.
func (s *Server) runTaskAction(ctx context.Context, id, taskID, action string, u *workflow.User, in taskInput) (string, error) {
	if !isUUID(id) || !isUUID(taskID) {
		return "", dsr.Errorf(dsr.ENOTFOUND, "task not found")
	}
	actor := workflow.Actor(u.ID)
	switch action {
	case "retry":
		return "Task retried: a new attempt is queued.", s.engine.RetryTask(ctx, id, taskID, actor)
	case "done":
		return "Task marked done.", s.engine.MarkTaskDone(ctx, id, taskID, actor, in.Note, in.Files)
	case "skip":
		return "Task skipped.", s.engine.SkipTask(ctx, id, taskID, actor, in.Reason)
	}
	return "", dsr.Errorf(dsr.ENOTFOUND, "unknown task action %q (valid: retry, done, skip)", action)
}

// taskInputFromForm reads a console or multipart task form.
func taskInputFromForm(c echo.Context) (taskInput, error) {
	form, err := readForm(c)
	if err != nil {
		return taskInput{}, err
	}
	var in taskInput
	if v := form.Value["note"]; len(v) > 0 {
		in.Note = v[0]
	}
	if v := form.Value["reason"]; len(v) > 0 {
		in.Reason = v[0]
	}
	in.Files, err = formFiles(form, "files")
	return in, err
}

// formFiles reads the non-empty files of a multipart field, each at most
// workflow.MaxExportBytes, at most maxReportFiles.
func formFiles(form *multipart.Form, field string) ([]dsr.File, error) {
	if len(form.File[field]) > maxReportFiles {
		return nil, dsr.InvalidField(field, fmt.Sprintf("at most %d files", maxReportFiles))
	}
	var out []dsr.File
	for _, fh := range form.File[field] {
		f, err := readExport(fh)
		if err != nil {
			return nil, err
		}
		if len(f.Content) > 0 {
			if msg := dsr.TextProblem(f.Filename); msg != "" {
				return nil, dsr.InvalidField(field, "a file name "+msg)
			}
			out = append(out, *f)
		}
	}
	return out, nil
}

// consoleTaskAction runs a task action from the request page.
func (s *Server) consoleTaskAction(c echo.Context) error {
	in, err := taskInputFromForm(c)
	if err != nil {
		return err
	}
	msg, err := s.runTaskAction(c.Request().Context(), c.Param("id"), c.Param("task"), c.Param("action"), currentUser(c), in)
	if err != nil {
		var de *dsr.Error
		if errors.As(err, &de) && (de.Code == dsr.EINVALID || de.Code == dsr.ECONFLICT) {
			errs := de.Fields
			if len(errs) == 0 {
				errs = map[string]string{"refused": de.Message + ruleSuffix(de.Rule)}
			}
			return s.renderRequest(c, statusOf[de.Code], errs, "")
		}
		return err
	}
	return s.redirectWithFlash(c, "/console/requests/"+c.Param("id")+"#tasks", msg)
}

// apiTask is one task in the admin API.
type apiTask struct {
	ID         string         `json:"id"`
	System     string         `json:"system"`
	Kind       dsr.Kind       `json:"kind"`
	Connector  string         `json:"connector"`
	Status     dsr.TaskStatus `json:"status"`
	DueOn      dsr.Date       `json:"due_on"`
	Attempts   int            `json:"attempts"`
	LastError  string         `json:"last_error"`
	Basis      string         `json:"basis"`
	Count      int            `json:"count"`
	Affected   []dsr.Affected `json:"affected"`
	DryRun     bool           `json:"dry_run"`
	Note       string         `json:"note"`
	FinishedAt *time.Time     `json:"finished_at"`
	FinishedBy string         `json:"finished_by"`
}

func apiTaskOf(t dsr.Task) apiTask {
	a := apiTask{ID: t.ID, System: t.System, Kind: t.Kind, Connector: t.Connector, Status: t.Status, DueOn: t.DueOn,
		Attempts: t.Attempts, LastError: t.LastError, Basis: t.Basis, Count: t.Count, Affected: t.Affected, DryRun: t.DryRun,
		Note: t.Note, FinishedAt: t.FinishedAt, FinishedBy: t.FinishedBy}
	if a.Affected == nil {
		a.Affected = []dsr.Affected{}
	}
	return a
}

// apiTasks lists a request's tasks: GET /api/v1/admin/requests/:id/tasks.
func (s *Server) apiTasks(c echo.Context) error {
	if !isUUID(c.Param("id")) {
		return dsr.Errorf(dsr.ENOTFOUND, "request not found")
	}
	tasks, err := s.engine.Tasks(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	out := make([]apiTask, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, apiTaskOf(t))
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

// apiTaskAction runs POST /api/v1/admin/requests/:id/tasks/:task/retry,
// done ({"note"}, or multipart note + files) or skip ({"reason"}).
func (s *Server) apiTaskAction(c echo.Context) error {
	var in taskInput
	ct := c.Request().Header.Get(echo.HeaderContentType)
	switch {
	case strings.HasPrefix(ct, echo.MIMEMultipartForm):
		var err error
		if in, err = taskInputFromForm(c); err != nil {
			return err
		}
	case strings.HasPrefix(ct, echo.MIMEApplicationJSON):
		if err := newStrictDecoder(c.Request().Body).Decode(&in); err != nil {
			return jsonError(err)
		}
	case c.Request().ContentLength == 0:
	default:
		return dsr.Errorf(dsr.EUNSUPPORTED, "Send JSON or multipart/form-data.")
	}
	msg, err := s.runTaskAction(c.Request().Context(), c.Param("id"), c.Param("task"), c.Param("action"), currentUser(c), in)
	if err != nil {
		return err
	}
	tasks, err := s.engine.Tasks(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if t.ID == c.Param("task") {
			return c.JSON(http.StatusOK, map[string]any{"message": msg, "task": apiTaskOf(t)})
		}
	}
	return dsr.Errorf(dsr.ENOTFOUND, "task not found")
}

// systemKey holds the reporting system's name in the echo context.
const systemKey = "dsr.system"

// systemAuth authenticates a system's callback by its system token
// (dsrdesk token create --system NAME): 401 without a valid one.
func (s *Server) systemAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
		if !ok || strings.TrimSpace(raw) == "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="dsrdesk"`)
			return dsr.Errorf(dsr.EUNAUTHORIZED, "Send the system's token: Authorization: Bearer <token> (dsrdesk token create --system NAME).")
		}
		system, err := s.engine.APITokenSystem(c.Request().Context(), hashSecret(strings.TrimSpace(raw)))
		if dsr.ErrorCode(err) == dsr.ENOTFOUND {
			s.securityLog(c, "system_token_refused")
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="dsrdesk", error="invalid_token"`)
			return dsr.Errorf(dsr.EUNAUTHORIZED, "The system token is not valid.")
		}
		if err != nil {
			return err
		}
		c.Set(systemKey, system)
		return next(c)
	}
}

// reportBody is a system's report as JSON: status, basis (kept), count,
// note and the data found, by section.
type reportBody struct {
	Status string                      `json:"status"`
	Basis  string                      `json:"basis"`
	Count  *int                        `json:"count"`
	Note   string                      `json:"note"`
	Data   map[string][]map[string]any `json:"data"`
}

// report checks the body and turns it into a dsr.Report. Errors:
// EINVALID with field errors.
func (b reportBody) report() (dsr.Report, error) {
	fe := dsr.FieldErrors{}
	st, err := dsr.ParseReportStatus(b.Status)
	if de, ok := err.(*dsr.Error); ok {
		fe.Add("status", de.Fields["status"])
	}
	if st == dsr.TaskKept && strings.TrimSpace(b.Basis) == "" {
		fe.Add("basis", "is required when the data is kept (the legal basis)")
	}
	for f, v := range map[string]string{"basis": b.Basis, "note": b.Note} {
		if len(v) > maxReportText {
			fe.Add(f, fmt.Sprintf("at most %d characters", maxReportText))
		} else if msg := dsr.TextProblem(v); msg != "" {
			fe.Add(f, msg)
		}
	}
	r := dsr.Report{Status: st, Basis: strings.TrimSpace(b.Basis), Note: strings.TrimSpace(b.Note)}
	if b.Count != nil {
		if *b.Count < 0 {
			fe.Add("count", "must not be negative")
		}
		r.Count = *b.Count
	}
	if len(b.Data) > maxReportSections {
		fe.Add("data", fmt.Sprintf("at most %d sections", maxReportSections))
	}
	names := make([]string, 0, len(b.Data))
	for name := range b.Data {
		names = append(names, name)
	}
	sort.Strings(names)
	rows := 0
	for _, name := range names {
		if strings.TrimSpace(name) == "" || len(name) > 100 || dsr.TextProblem(name) != "" {
			fe.Add("data", "section names must be 1–100 characters of text")
			continue
		}
		r.Sections = append(r.Sections, dsr.NewSection(name, b.Data[name]))
		rows += len(b.Data[name])
	}
	if b.Count == nil {
		r.Count = rows
	}
	return r, fe.Err()
}

// apiTaskCallback is POST /api/v1/tasks/:id: a system reports on its
// task. JSON reportBody, or multipart with the same fields (data as a
// JSON text) and "files". Idempotent: the same report again answers 200
// with the same task; a different one after the task finished is 409.
// 403 for another system's task, 404 for an unknown one. The answer
// never fetches a URL the system gives.
func (s *Server) apiTaskCallback(c echo.Context) error {
	var body reportBody
	var files []dsr.File
	ct := c.Request().Header.Get(echo.HeaderContentType)
	switch {
	case strings.HasPrefix(ct, echo.MIMEMultipartForm):
		form, err := readForm(c)
		if err != nil {
			return err
		}
		get := func(k string) string {
			if v := form.Value[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		body.Status, body.Basis, body.Note = get("status"), get("basis"), get("note")
		if v := get("count"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return dsr.InvalidField("count", "must be a whole number")
			}
			body.Count = &n
		}
		if v := get("data"); v != "" {
			if err := json.Unmarshal([]byte(v), &body.Data); err != nil {
				return dsr.InvalidField("data", "must be a JSON object of sections, each an array of row objects")
			}
		}
		if files, err = formFiles(form, "files"); err != nil {
			return err
		}
	case strings.HasPrefix(ct, echo.MIMEApplicationJSON):
		if err := newStrictDecoder(c.Request().Body).Decode(&body); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return dsr.Errorf(dsr.ETOOLARGE, "The report is too large (the limit is 15 MB; send large data as multipart files).")
			}
			return jsonError(err)
		}
	default:
		return dsr.Errorf(dsr.EUNSUPPORTED, "Send JSON or multipart/form-data.")
	}
	rep, err := body.report()
	if err != nil {
		return err
	}
	if !isUUID(c.Param("id")) {
		return dsr.Errorf(dsr.ENOTFOUND, "task not found")
	}
	system, _ := c.Get(systemKey).(string)
	t, err := s.engine.ReportTask(c.Request().Context(), system, c.Param("id"), workflow.TaskReport{Report: rep, Files: files})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"id": t.ID, "system": t.System, "status": t.Status, "count": t.Count})
}
