package api_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// filler is an endless stream of 'a': bodies of any size without holding
// them in memory.
type filler struct{}

func (filler) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// bigBody is prefix, n filler bytes, suffix.
func bigBody(prefix string, n int64, suffix string) (io.Reader, int64) {
	return io.MultiReader(strings.NewReader(prefix), io.LimitReader(filler{}, n), strings.NewReader(suffix)),
		int64(len(prefix)) + n + int64(len(suffix))
}

// sendBig posts a body built by mk, with Content-Length or chunked (no
// declared length), and returns the status, or 0 if no answer could be
// read.
func sendBig(t *testing.T, c *http.Client, u, contentType string, header http.Header, chunked bool, mk func() (io.Reader, int64)) int {
	t.Helper()
	body, size := mk()
	req, _ := http.NewRequest(http.MethodPost, u, io.NopCloser(body))
	req.ContentLength = size
	if chunked {
		req.ContentLength = -1
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Logf("POST %s (chunked %v): %v", u, chunked, err)
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func TestOversizedBodiesAre413WithOrWithoutContentLength(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, token := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	officer := login(t, d, "olga@testorg.example")
	bearer := http.Header{"Authorization": {"Bearer " + token}}
	rc := newRequest(t, d, "access", "lim@example.com", "NL", "")
	const boundary = "XbOuNdArY"
	multipartOf := func(n int64) func() (io.Reader, int64) {
		return func() (io.Reader, int64) {
			return bigBody("--"+boundary+"\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\naccess\r\n--"+boundary+
				"\r\nContent-Disposition: form-data; name=\"permission\"; filename=\"p.pdf\"\r\nContent-Type: application/pdf\r\n\r\n",
				n, "\r\n--"+boundary+"--\r\n")
		}
	}
	formOf := func(field string, n int64) func() (io.Reader, int64) {
		return func() (io.Reader, int64) { return bigBody(field+"=", n, "") }
	}
	cases := []struct {
		name, path, ct string
		header         http.Header
		client         *http.Client
		mk             func() (io.Reader, int64)
	}{
		{"login", "/console/login", "application/x-www-form-urlencoded", nil, d.Client, formOf("email", 100<<10)},
		{"login multipart", "/console/login", "multipart/form-data; boundary=" + boundary, nil, d.Client, multipartOf(100 << 10)},
		{"gpc", "/gpc", "application/x-www-form-urlencoded", http.Header{"Sec-Gpc": {"1"}}, d.Client, formOf("email", 100<<10)},
		{"gpc multipart", "/gpc", "multipart/form-data; boundary=" + boundary, http.Header{"Sec-Gpc": {"1"}}, d.Client, multipartOf(100 << 10)},
		{"form upload", "/requests", "multipart/form-data; boundary=" + boundary, nil, d.Client, multipartOf(12 << 20)},
		{"form without upload", "/requests", "application/x-www-form-urlencoded", nil, d.Client, formOf("details", 100<<10)},
		{"json api", "/api/v1/requests", "application/json", nil, d.Client, func() (io.Reader, int64) {
			return bigBody(`{"kind": "access", "details": "`, 16<<20, `"}`)
		}},
		{"gpc api", "/api/v1/gpc", "application/json", http.Header{"Sec-Gpc": {"1"}}, d.Client, func() (io.Reader, int64) {
			return bigBody(`{"email": "`, 100<<10, `"}`)
		}},
		{"admin api entry", "/api/v1/admin/requests", "application/json", bearer, d.Client, func() (io.Reader, int64) {
			return bigBody(`{"kind": "access", "details": "`, 16<<20, `"}`)
		}},
		{"console action", "/console/requests/" + rc.ID + "/note", "application/x-www-form-urlencoded", nil, officer.c, func() (io.Reader, int64) {
			return bigBody("_csrf="+url.QueryEscape(officer.csrf)+"&note=", 100<<10, "")
		}},
	}
	for _, tc := range cases {
		for _, chunked := range []bool{false, true} {
			if got := sendBig(t, tc.client, d.URL+tc.path, tc.ct, tc.header, chunked, tc.mk); got != http.StatusRequestEntityTooLarge {
				t.Errorf("%s (POST %s, chunked %v): %d, want 413", tc.name, tc.path, chunked, got)
			}
		}
	}
	// The small default still lets ordinary posts through, and the upload
	// routes still take an upload bigger than the default.
	if resp, _ := officer.post("/console/requests/"+rc.ID+"/note", url.Values{"note": {strings.Repeat("n", 1000)}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("ordinary console note: %d, want 303", resp.StatusCode)
	}
	body := `{"kind": "access", "subject": {"email": "big@example.com", "country": "NL"}, "details": "` + strings.Repeat("d", 1000) + `"}`
	resp, b := postJSON(t, d, body, nil)
	mustReceipt(t, resp, b)
	// A 5 MB permission through the form, sent chunked: it goes through a
	// temporary file and is stored whole.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"kind": "access", "email": "upload@example.com", "country": "US", "state": "CA",
		"by_agent": "1", "agent_name": "Agent Co", "agent_email": "agent@example.org"} {
		_ = mw.WriteField(k, v)
	}
	perm := append(append([]byte{}, minimalPDF...), bytes.Repeat([]byte("%"), 5<<20)...)
	fw, _ := mw.CreateFormFile("permission", "permission.pdf")
	_, _ = fw.Write(perm)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/requests", io.NopCloser(&buf))
	req.ContentLength = -1
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if resp, b := do(t, d, req); resp.StatusCode != http.StatusCreated {
		t.Fatalf("form with a 5 MB permission: %d %.300s", resp.StatusCode, b)
	}
	var stored int
	if err := d.Pool.QueryRow(context.Background(), `SELECT max(length(content)) FROM attachments`).Scan(&stored); err != nil || stored != len(perm) {
		t.Fatalf("stored permission: %d bytes (%v), want %d", stored, err, len(perm))
	}
}
