package api

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Body limits, in bytes. Every route gets defaultBodyLimit; only the
// routes that carry uploads get more, and only for the body type that can
// carry a file (a URL-encoded form never holds one, so it keeps the small
// limit even on an upload route).
const (
	defaultBodyLimit = 64 << 10
	// formBodyLimit fits the intake form and the status-page answer: one
	// file of at most 10 MB (dsr.MaxPermissionBytes) plus the fields.
	formBodyLimit = 11 << 20
	// apiBodyLimit fits a JSON request with a base64 permission of 10 MB.
	apiBodyLimit = 15 << 20
	// exportBodyLimit fits an officer's completion with export files
	// (workflow.MaxExportBytes each).
	exportBodyLimit = 200 << 20
	// multipartTextBudget caps the memory a multipart form's non-file
	// fields may take together (the longest field, details, is 5000
	// characters).
	multipartTextBudget = 1 << 20
	// multipartMemory is the maxMemory passed to ParseMultipartForm. Go
	// keeps up to maxMemory bytes of file data in memory and allows the
	// other fields maxMemory + 10 MB; so a negative maxMemory of
	// multipartTextBudget − 10 MB caps the fields at the budget and sends
	// every file part to a temporary file (bounded by the body limit and
	// removed by net/http after the request, or by the parser when the
	// form is cut off). Without this, each upload in flight could hold 11
	// MB of a cut-off text field in memory.
	multipartMemory = multipartTextBudget - 10<<20
)

// bodyLimit is one route's allowance: Limit bytes for bodies whose media
// type is one of Types (all types when Types is empty).
type bodyLimit struct {
	Limit int64
	Types []string
	// Staff marks routes only signed-in staff can use: their uploads wait
	// for their own slots, so anonymous uploads cannot starve them.
	Staff bool
}

var (
	multipartOnly = []string{echo.MIMEMultipartForm}
	jsonOnly      = []string{echo.MIMEApplicationJSON}
	jsonOrForm    = []string{echo.MIMEApplicationJSON, echo.MIMEMultipartForm}
)

// bodyLimits lists the routes ("METHOD /route/pattern") allowed more than
// defaultBodyLimit.
var bodyLimits = map[string]bodyLimit{
	"POST /requests":                          {Limit: formBodyLimit, Types: multipartOnly},
	"POST /status/:token/answer":              {Limit: formBodyLimit, Types: multipartOnly},
	"POST /status/:token/appeal":              {Limit: formBodyLimit, Types: multipartOnly},
	"POST /api/v1/requests":                   {Limit: apiBodyLimit, Types: jsonOnly},
	"POST /api/v1/admin/requests":             {Limit: apiBodyLimit, Types: jsonOnly, Staff: true},
	"POST /api/v1/admin/requests/:id/:action": {Limit: exportBodyLimit, Types: jsonOrForm, Staff: true},
	"POST /console/requests/:id/:action":      {Limit: exportBodyLimit, Types: multipartOnly, Staff: true},
	"POST /console/requests/new":              {Limit: formBodyLimit, Types: multipartOnly, Staff: true}, // the scanned letter

	// Tasks (tasks.go): a system's report is read before its token is
	// checked, so it takes no staff slot.
	"POST /api/v1/tasks/:id":                              {Limit: apiBodyLimit, Types: jsonOrForm},
	"POST /api/v1/admin/requests/:id/tasks/:task/:action": {Limit: exportBodyLimit, Types: jsonOrForm, Staff: true},
	"POST /console/requests/:id/tasks/:task/:action":      {Limit: exportBodyLimit, Types: multipartOnly, Staff: true},
}

// Concurrent large bodies: a large body (over defaultBodyLimit, or of
// unknown length) is read only while holding a slot, so a flood of
// uploads is bounded in memory by slots × limit instead of by the number
// of connections. (A 15 MB JSON body costs about twice that while it is
// read and decoded; two public slots keep a flood of them near 60 MB.)
// Others wait for a slot, up to the request's 30 s context, then get 503.
const (
	publicUploadSlots = 2
	staffUploadSlots  = 2
)

// limitFor returns the body limit of the matched route for this request.
func limitFor(c echo.Context) (int64, bool) {
	l, ok := bodyLimits[c.Request().Method+" "+c.Path()]
	if !ok {
		return defaultBodyLimit, false
	}
	if len(l.Types) > 0 {
		mt := strings.ToLower(strings.TrimSpace(strings.SplitN(c.Request().Header.Get(echo.HeaderContentType), ";", 2)[0]))
		match := false
		for _, t := range l.Types {
			match = match || mt == t
		}
		if !match {
			return defaultBodyLimit, false
		}
	}
	return l.Limit, l.Staff
}

// bodyLimiter bounds every request body before anything reads it (it runs
// first, ahead of CSRF, sessions and form parsing): a declared length over
// the route's limit is refused at once with 413, and the body is wrapped
// in http.MaxBytesReader so a chunked body is cut off at the limit too
// (the read fails with *http.MaxBytesError, which handleError answers with
// 413, and net/http closes the connection instead of draining the rest).
func (s *Server) bodyLimiter() echo.MiddlewareFunc {
	public := make(chan struct{}, publicUploadSlots)
	staff := make(chan struct{}, staffUploadSlots)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.Body == nil || req.Body == http.NoBody {
				return next(c)
			}
			limit, isStaff := limitFor(c)
			if req.ContentLength > limit {
				// Refused unread. One byte is read through a MaxBytesReader
				// of limit 0 so that net/http knows the body limit was hit:
				// it then closes the connection without draining the rest,
				// after a lingering close that lets the client read the 413
				// while it is still sending. (Not when the client waits for
				// 100 Continue: it then sends nothing and reads the 413.)
				if req.Header.Get("Expect") == "" {
					_, _ = http.MaxBytesReader(c.Response().Writer, req.Body, 0).Read(make([]byte, 1))
				}
				c.Response().Header().Set(echo.HeaderConnection, "close")
				return tooLarge(limit)
			}
			body := &limitedBody{ReadCloser: http.MaxBytesReader(c.Response().Writer, req.Body, limit)}
			req.Body = body
			if limit > defaultBodyLimit && (req.ContentLength < 0 || req.ContentLength > defaultBodyLimit) {
				slots := public
				if isStaff {
					slots = staff
				}
				select {
				case slots <- struct{}{}:
					defer func() { <-slots }()
				case <-req.Context().Done():
					return dsr.Errorf(dsr.ETEMPORARY, "The server is busy receiving other uploads. Please try again in a minute.")
				}
			}
			if limit <= defaultBodyLimit && isForm(req) {
				// Handlers and middleware read small forms with FormValue,
				// which drops parse errors: parse here so that an
				// oversized form is a 413, not an empty form.
				if err := parseForm(req); err != nil {
					if body.hit {
						return tooLarge(limit)
					}
					return errBadRequest{"The form could not be read."}
				}
			}
			err := next(c)
			if body.hit && !c.Response().Committed {
				// Whatever the reader made of the cut-off body (a JSON
				// syntax error, a broken multipart part), the cause is
				// the limit.
				return tooLarge(limit)
			}
			return err
		}
	}
}

// limitedBody remembers whether the limit was reached.
type limitedBody struct {
	io.ReadCloser
	hit bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var mbe *http.MaxBytesError
	if err != nil && errors.As(err, &mbe) {
		b.hit = true
	}
	return n, err
}

// parseForm parses a URL-encoded or multipart body. (ParseMultipartForm
// alone would hide the read error of a URL-encoded body behind
// ErrNotMultipart.)
func parseForm(req *http.Request) error {
	if err := req.ParseForm(); err != nil {
		return err
	}
	if err := req.ParseMultipartForm(multipartMemory); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return err
	}
	return nil
}

func isForm(req *http.Request) bool {
	ct := strings.ToLower(req.Header.Get(echo.HeaderContentType))
	return strings.HasPrefix(ct, echo.MIMEApplicationForm) || strings.HasPrefix(ct, echo.MIMEMultipartForm)
}

// tooLarge is the refusal of a body over limit bytes.
func tooLarge(limit int64) error {
	return dsr.Errorf(dsr.ETOOLARGE, "The request is too large (the limit here is %s).", humanBytes(limit))
}

func humanBytes(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MB"
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return strconv.FormatInt(n>>10, 10) + " KB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
