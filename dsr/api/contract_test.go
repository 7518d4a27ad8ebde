package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/dsrdesk/dsrdesk/dsr/api"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
)

// TestMain records every /api/ exchange of the package's tests (real
// requests to real desks) and, when they all passed, validates each one
// against the OpenAPI document: the document is kept true by the suite.
func TestMain(m *testing.M) {
	apitest.RecordAPI()
	code := m.Run()
	if code == 0 {
		if err := checkRecorded(apitest.APIExchanges()); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: OpenAPI contract:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// checkRecorded validates the exchanges and reports every one that does
// not match the document (at most 20 in full).
func checkRecorded(xs []apitest.Exchange) error {
	c, err := loadContract()
	if err != nil {
		return err
	}
	var bad []string
	seen := map[string]int{} // operation → validated exchanges
	for _, x := range xs {
		if err := c.check(x); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %s %s → %d: %v", x.Test, x.Method, x.Path, x.Status, err))
		}
		if route, _, err := c.router.FindRoute(exchangeRequest(x)); err == nil {
			seen[route.Method+" "+route.Path]++
		}
	}
	fmt.Fprintf(os.Stderr, "OpenAPI contract: %d /api/ exchanges validated, %d do not match\n", len(xs), len(bad))
	if testing.Verbose() {
		for path, item := range c.doc.Paths.Map() {
			for method := range item.Operations() {
				fmt.Fprintf(os.Stderr, "OpenAPI contract: %4d × %s %s\n", seen[method+" "+path], method, path)
			}
		}
	}
	if len(bad) == 0 {
		return nil
	}
	n := len(bad)
	if len(bad) > 20 {
		bad = bad[:20]
	}
	return fmt.Errorf("%d of %d recorded /api/ exchanges do not match dsr/api/openapi.json:\n%s", n, len(xs), strings.Join(bad, "\n"))
}

// contract is the parsed document and its router.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	contractOnce sync.Once
	contractDoc  *contract
	contractErr  error
)

// loadContract parses and validates the embedded document (once).
func loadContract() (*contract, error) {
	contractOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.OpenAPIDocument())
		if err != nil {
			contractErr = fmt.Errorf("load openapi.json: %w", err)
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			contractErr = fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
			return
		}
		router, err := legacy.NewRouter(doc)
		if err != nil {
			contractErr = fmt.Errorf("openapi.json routes: %w", err)
			return
		}
		contractDoc = &contract{doc: doc, router: pathRouter{router}}
	})
	return contractDoc, contractErr
}

// check validates one exchange: the response always (status, content
// type, body schema); the request too when the server accepted it (2xx),
// since tests send bad requests on purpose to see them refused. A path
// the document does not have is fine only when the server answered 404
// or 405 (the route test keeps the document and the routes equal).
func (c *contract) check(x apitest.Exchange) error {
	ctx := context.Background()
	req := exchangeRequest(x)
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if x.Status == http.StatusNotFound || x.Status == http.StatusMethodNotAllowed {
			return nil
		}
		return fmt.Errorf("not in the document: %w", err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if x.Status >= 200 && x.Status < 300 && !x.BodyTruncated {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return fmt.Errorf("request accepted but not as documented: %w", err)
		}
	}
	if x.RespTruncated || x.Method == http.MethodHead {
		return nil
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.Status, Header: x.RespHeader,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(x.RespBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("response: %w", err)
	}
	return nil
}

// pathRouter routes by the request's path and query alone. It wraps
// kin-openapi's legacy router, whose route tree is keyed by method and
// path: POST …/requests/{id}/legal-hold is the {action} route even though
// the concrete path …/legal-hold is documented for DELETE (the gorillamux
// router stops at the concrete path's method mismatch and answers 405).
// The legacy router matches the document's relative server URL "/"
// against the whole URL, hence the path-only copy.
type pathRouter struct{ routers.Router }

func (r pathRouter) FindRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	short := req.Clone(req.Context())
	short.URL = &url.URL{Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	return r.Router.FindRoute(short)
}

// exchangeRequest rebuilds the request of an exchange, to route and validate.
func exchangeRequest(x apitest.Exchange) *http.Request {
	u := &url.URL{Scheme: "http", Host: "desk.test", Path: x.Path, RawQuery: x.RawQuery}
	req, err := http.NewRequestWithContext(context.Background(), x.Method, u.String(), bytes.NewReader(x.Body))
	if err != nil {
		panic(err) // a method and path the server took
	}
	req.Header = x.Header.Clone()
	return req
}

// TestOpenAPIDocumentMatchesRoutes: every Echo route under /api/ is in
// the document with its method, and every operation of the document is a
// registered route, so a route cannot be added (or removed) without the
// document saying so.
func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	t.Parallel()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	d := apitest.Start(t, apitest.Options{})
	registered := map[string]bool{}
	for _, r := range d.Server.Echo().Routes() {
		if !strings.HasPrefix(r.Path, "/api/") || !standardMethod(r.Method) {
			continue // Echo's group not-found routes have a pseudo-method
		}
		registered[r.Method+" "+openAPIPath(r.Path)] = true
	}
	documented := map[string]bool{}
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	if len(registered) < 10 {
		t.Fatalf("only %d /api/ routes registered: %v", len(registered), registered)
	}
	for _, k := range sortedKeys(registered) {
		if !documented[k] {
			t.Errorf("route %s is not in dsr/api/openapi.json (add it: README, API contract)", k)
		}
	}
	for _, k := range sortedKeys(documented) {
		if !registered[k] {
			t.Errorf("dsr/api/openapi.json documents %s, which is not a registered route", k)
		}
	}
}

// TestOpenAPIServedAndValid: GET /api/openapi.json is the embedded
// document, an OpenAPI 3.1 document that validates.
func TestOpenAPIServedAndValid(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	resp, body := get(t, d, d.URL+"/api/openapi.json")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if body != string(api.OpenAPIDocument()) {
		t.Fatal("served document differs from the embedded one")
	}
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	if c.doc.OpenAPI != "3.1.0" || !c.doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi = %q, want 3.1.0", c.doc.OpenAPI)
	}
	if c.doc.Components.SecuritySchemes["bearerAuth"] == nil {
		t.Fatal("no bearerAuth security scheme")
	}
}

// TestContractRejectsWrongResponses: the validation can fail. Real
// exchanges of a desk pass; the same exchanges altered (a field missing,
// a wrong type, an unknown field, an error without its envelope, an
// undocumented status or route, a request the document does not allow)
// are each rejected.
func TestContractRejectsWrongResponses(t *testing.T) {
	t.Parallel()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	d := apitest.Start(t, apitest.Options{})
	rc := newRequest(t, d, "access", "ria@example.com", "NL", "")
	resp, b := postJSON(t, d, `{"kind": "access", "subject": {"email": "not an address", "country": "NL"}}`, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad email: %d", resp.StatusCode)
	}
	created := findExchange(t, t.Name(), http.MethodPost, "/api/v1/requests", http.StatusCreated)
	invalid := findExchange(t, t.Name(), http.MethodPost, "/api/v1/requests", http.StatusUnprocessableEntity)
	if !bytes.Equal(invalid.RespBody, b) || !strings.Contains(string(created.RespBody), rc.ID) {
		t.Fatal("recorded bodies are not the ones the client got")
	}
	for _, x := range []apitest.Exchange{created, invalid} {
		if err := c.check(x); err != nil {
			t.Fatalf("real %d exchange rejected: %v", x.Status, err)
		}
	}

	edit := func(x apitest.Exchange, f func(m map[string]any)) apitest.Exchange {
		var m map[string]any
		if err := json.Unmarshal(x.RespBody, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		x.RespBody, _ = json.Marshal(m)
		return x
	}
	withStatus := func(x apitest.Exchange, code int) apitest.Exchange { x.Status = code; return x }
	withPath := func(x apitest.Exchange, p string) apitest.Exchange { x.Path = p; return x }
	withBody := func(x apitest.Exchange, body string) apitest.Exchange { x.Body = []byte(body); return x }
	wrong := map[string]apitest.Exchange{
		"receipt without ref":     edit(created, func(m map[string]any) { delete(m, "ref") }),
		"receipt with a bad kind": edit(created, func(m map[string]any) { m["kind"] = "complaint" }),
		"due_at not a string":     edit(created, func(m map[string]any) { m["due_at"] = 45 }),
		"receipt with an extra":   edit(created, func(m map[string]any) { m["email"] = "ria@example.com" }),
		"error without envelope":  edit(invalid, func(m map[string]any) { m["code"] = "invalid"; delete(m, "error") }),
		"error field not a text": edit(invalid, func(m map[string]any) {
			m["error"].(map[string]any)["fields"] = map[string]any{"subject.email": 1}
		}),
		"error body on a 201":           withStatus(invalid, http.StatusCreated),
		"receipt on a 422":              withStatus(created, http.StatusUnprocessableEntity),
		"undocumented 200":              withStatus(created, http.StatusOK),
		"undocumented route":            withPath(created, "/api/v1/requests/extra"),
		"accepted an undocumented body": withBody(created, `{"subject": {"email": "ria@example.com"}, "colour": "blue"}`),
		"not JSON at all":               func() apitest.Exchange { x := created; x.RespBody = []byte("<html>"); return x }(),
	}
	for name, x := range wrong {
		if err := c.check(x); err == nil {
			t.Errorf("%s: accepted, want rejected", name)
		}
	}
}

// findExchange returns the last recorded exchange of test with the
// method, path and status (the last: with -count the test runs again).
func findExchange(t *testing.T, test, method, path string, status int) apitest.Exchange {
	t.Helper()
	xs := apitest.APIExchanges()
	for i := len(xs) - 1; i >= 0; i-- {
		if x := xs[i]; x.Test == test && x.Method == method && x.Path == path && x.Status == status {
			return x
		}
	}
	t.Fatalf("no recorded %s %s → %d of %s (is TestMain recording?)", method, path, status, test)
	return apitest.Exchange{}
}

// openAPIPath turns an Echo pattern (/requests/:id) into an OpenAPI path
// template (/requests/{id}).
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func standardMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
