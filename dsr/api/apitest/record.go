package apitest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// maxRecordedBody is how much of a request or response body an Exchange
// keeps; a longer body is marked truncated (and its request side is not
// checked against the contract).
const maxRecordedBody = 1 << 20

// Exchange is one request to a path under /api/ and the response the
// server sent, as the server saw them.
type Exchange struct {
	Test          string // the test that made it
	Method        string
	Path          string // URL path
	RawQuery      string
	Header        http.Header // request header
	Body          []byte      // request body (up to maxRecordedBody)
	BodyTruncated bool
	Status        int
	RespHeader    http.Header
	RespBody      []byte
	RespTruncated bool
}

var recorded struct {
	mu   sync.Mutex
	on   bool
	list []Exchange
}

// RecordAPI makes every desk started from now on record its /api/
// exchanges (call it from TestMain, before m.Run). It is for the OpenAPI
// contract test: see APIExchanges.
func RecordAPI() {
	recorded.mu.Lock()
	recorded.on = true
	recorded.mu.Unlock()
}

// APIExchanges returns the exchanges recorded so far.
func APIExchanges() []Exchange {
	recorded.mu.Lock()
	defer recorded.mu.Unlock()
	return append([]Exchange(nil), recorded.list...)
}

// recordAPI wraps h to record its /api/ exchanges when RecordAPI was
// called; otherwise it returns h.
func recordAPI(t testing.TB, h http.Handler) http.Handler {
	recorded.mu.Lock()
	on := recorded.on
	recorded.mu.Unlock()
	if !on {
		return h
	}
	name := t.Name()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			h.ServeHTTP(w, r)
			return
		}
		x := Exchange{Test: name, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone()}
		if r.Body != nil {
			head, _ := io.ReadAll(io.LimitReader(r.Body, maxRecordedBody+1))
			x.Body, x.BodyTruncated = head, len(head) > maxRecordedBody
			// The server reads the same bytes, then the rest.
			r.Body = readCloser{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
		}
		rw := &recordingWriter{ResponseWriter: w}
		h.ServeHTTP(rw, r)
		x.Status, x.RespHeader, x.RespBody, x.RespTruncated = rw.status, rw.header, rw.body.Bytes(), rw.truncated
		if x.Status == 0 {
			x.Status, x.RespHeader = http.StatusOK, w.Header().Clone()
		}
		recorded.mu.Lock()
		recorded.list = append(recorded.list, x)
		recorded.mu.Unlock()
	})
}

type readCloser struct {
	io.Reader
	io.Closer
}

// recordingWriter passes a response through, keeping its status, header
// and the start of its body.
type recordingWriter struct {
	http.ResponseWriter
	status    int
	header    http.Header
	body      bytes.Buffer
	truncated bool
}

func (w *recordingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status, w.header = code, w.ResponseWriter.Header().Clone()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if room := maxRecordedBody - w.body.Len(); room < len(b) {
		w.body.Write(b[:max(room, 0)])
		w.truncated = true
	} else {
		w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (flush,
// deadlines).
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
