package api

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
)

const fuzzConfig = `{"organisation": {"name": "Fuzz Ltd", "contact_email": "privacy@fuzz.example"},
  "regimes": ["gdpr", "ccpa"], "jurisdictions": [{"countries": ["EEA"], "regime": "gdpr"},
  {"countries": ["US"], "states": ["CA"], "regime": "ccpa"}], "mail": {"from": "privacy@fuzz.example"}}`

// FuzzAPIRequest feeds arbitrary bodies to the JSON intake decoder and the
// validator: no input may panic, and every refusal must map to a 4xx.
func FuzzAPIRequest(f *testing.F) {
	cfg, err := dsr.ParseConfig(strings.NewReader(fuzzConfig))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{"kind": "access", "subject": {"email": "a@example.com", "country": "NL"}}`,
		`{"kind": "opt_out", "subject": {"email": "a@example.com", "country": "US", "state": "CA"}, "fields": {"opt_out_of": ["sale"]}}`,
		`{"kind": "access", "subject": {"email": "a@example.com", "country": "NL"}, "agent": {"name": "A", "email": "b@example.org", "permission": {"filename": "p.pdf", "content_base64": "JVBERi0xLjQK"}}}`,
		`{"kind": 1}`, `[]`, `{"fields": {"x": {"y": 1}}}`, `{"subject": {"state": 5}}`, `{`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sub, err := decodeAPIRequest(bytes.NewReader(body))
		if err == nil {
			_, err = sub.Validate(cfg)
		}
		if err == nil {
			return
		}
		if status, env := classify(err); status >= 500 || env.Message == "" {
			t.Fatalf("input %q: %d %+v (%v)", body, status, env, err)
		}
	})
}

// FuzzUploadTypeCheck: the permission check accepts exactly PDF, PNG and
// JPEG by content, never panics, and always returns a safe filename.
func FuzzUploadTypeCheck(f *testing.F) {
	f.Add([]byte("%PDF-1.7\n"), "permission.pdf")
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00"), "../../etc/passwd")
	f.Add([]byte("\xff\xd8\xff\xe0"), "a\x00b.jpg")
	f.Add([]byte("MZ\x90\x00"), "x.pdf")
	f.Fuzz(func(t *testing.T, content []byte, name string) {
		file := &dsr.File{Filename: name, Content: content}
		err := dsr.CheckPermissionFile(file)
		ct := http.DetectContentType(content)
		ok := len(content) > 0 && len(content) <= dsr.MaxPermissionBytes && (ct == "application/pdf" || ct == "image/png" || ct == "image/jpeg")
		if (err == nil) != ok {
			t.Fatalf("content type %s, %d bytes: err %v", ct, len(content), err)
		}
		if err == nil && (strings.ContainsAny(file.Filename, "/\\\x00\"") || file.Filename == "") {
			t.Fatalf("unsafe filename %q", file.Filename)
		}
	})
}

// FuzzMultipartForm posts arbitrary multipart bodies to the form reader and
// mapper: never a panic or a 5xx.
func FuzzMultipartForm(f *testing.F) {
	cfg, err := dsr.ParseConfig(strings.NewReader(fuzzConfig))
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("kind", "access")
	_ = mw.WriteField("email", "a@example.com")
	_ = mw.WriteField("country", "NL")
	_ = mw.WriteField("by_agent", "1")
	fw, _ := mw.CreateFormFile("permission", "p.pdf")
	_, _ = fw.Write([]byte("%PDF-1.4"))
	_ = mw.Close()
	f.Add(buf.Bytes(), mw.Boundary())
	f.Add([]byte("--x\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nerasure\r\n--x--\r\n"), "x")
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		e := echo.New()
		req := httptest.NewRequest(http.MethodPost, "/requests", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		c := e.NewContext(req, httptest.NewRecorder())
		form, err := readForm(c)
		if err == nil {
			var sub *dsr.Submission
			if sub, err = submissionFromForm(form); err == nil {
				_, err = sub.Validate(cfg)
			} else {
				err = dsr.Errorf(dsr.EINVALID, "%s", err.Error())
			}
		}
		if err != nil {
			if status, _ := classify(err); status >= 500 {
				t.Fatalf("5xx for body %q: %v", body, err)
			}
		}
	})
}
