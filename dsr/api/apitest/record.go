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
// keeps; a longer body, or a request body the server did not read to the
// end, is marked truncated (and that side is not checked against the
// contract).
const maxRecordedBody = 1 << 20

// Exchange is one request to a path under /api/ and the response the
// server sent, as the server saw them.
type Exchange struct {
	Test          string // the test that made it
	Method        string
	Path          string // URL path
	RawQuery      string
	Header        http.Header // request header
	Body          []byte      // request body as the server read it (up to maxRecordedBody)
	BodyTruncated bool
	Status        int
	RespHeader    http.Header
	RespBody      []byte
	RespTruncated bool
}

// maxRecordedRequest is the largest request body recorded: the smallest
// body limit of the server (dsr/api/limits.go, 64 KiB).
const maxRecordedRequest = 64 << 10

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
		// Not recorded: paths outside /api/, and bodies of unknown length
		// or over the smallest body limit. The server must see the real
		// ResponseWriter whenever a body limit can be hit: net/http's
		// MaxBytesReader marks the connection for a lingering close only
		// on its own writer, which a wrapper hides.
		if !strings.HasPrefix(r.URL.Path, "/api/") || r.ContentLength < 0 || r.ContentLength > maxRecordedRequest {
			h.ServeHTTP(w, r)
			return
		}
		x := Exchange{Test: name, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone()}
		// The body is copied as the server reads it, so that the server
		// sees (and refuses) it exactly as without the recording.
		var tee *teeBody
		if r.Body != nil && r.Body != http.NoBody {
			tee = &teeBody{ReadCloser: r.Body}
			r.Body = tee
		}
		rw := &recordingWriter{ResponseWriter: w}
		h.ServeHTTP(rw, r)
		if tee != nil {
			if rw.status >= 200 && rw.status < 300 && !tee.eof {
				// Accepted without reading to the end (a JSON decoder
				// stops after the object): the rest is part of the
				// request that the contract checks.
				_, _ = io.Copy(io.Discard, io.LimitReader(tee, maxRecordedBody+1-int64(tee.buf.Len())))
			}
			x.Body, x.BodyTruncated = tee.buf.Bytes(), tee.truncated || !tee.eof
		}
		x.Status, x.RespHeader, x.RespBody, x.RespTruncated = rw.status, rw.header, rw.body.Bytes(), rw.truncated
		if x.Status == 0 {
			x.Status, x.RespHeader = http.StatusOK, w.Header().Clone()
		}
		recorded.mu.Lock()
		recorded.list = append(recorded.list, x)
		recorded.mu.Unlock()
	})
}

// teeBody keeps the first maxRecordedBody bytes read from a request
// body and whether it was read to the end.
type teeBody struct {
	io.ReadCloser
	buf       bytes.Buffer
	truncated bool
	eof       bool
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if room := maxRecordedBody - b.buf.Len(); room < n {
		b.buf.Write(p[:max(room, 0)])
		b.truncated = true
	} else {
		b.buf.Write(p[:n])
	}
	if err == io.EOF {
		b.eof = true
	}
	return n, err
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
