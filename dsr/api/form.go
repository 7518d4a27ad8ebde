package api

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// formFields maps submission field paths to form input ids and labels, for
// the error summary.
var formFields = []struct{ path, id, label string }{
	{"kind", "kind-error", "Request"},
	{"subject.email", "email", "Email address"},
	{"subject.name", "name", "Name"},
	{"subject.country", "country", "Country"},
	{"subject.state", "state", "US state"},
	{"regime", "country", "Law"},
	{"fields.inaccurate", "f-rect-inaccurate", "What is wrong"},
	{"fields.correction", "f-rect-correction", "What it should say"},
	{"fields.format", "f-port-json", "Format"},
	{"fields.opt_out_of", "f-oo-sale", "Opt out of"},
	{"fields.processing", "f-obj-processing", "Processing"},
	{"fields.grounds", "f-obj-grounds", "Grounds"},
	{"fields.ground", "f-res-accuracy_contested", "Ground"},
	{"fields.scope", "f-access-scope-copy", "Access"},
	{"details", "details", "Details"},
	{"agent.name", "agent-name", "Agent name"},
	{"agent.email", "agent-email", "Agent email"},
	{"agent.permission", "permission", "Signed permission"},
}

var optOutLabels = map[string]string{
	"sale": "Sale of my personal information", "sharing": "Sharing for cross-context behavioural advertising",
	"targeted_advertising": "Targeted advertising", "profiling": "Profiling with legal or similarly significant effects",
	"direct_marketing": "Direct marketing",
}

var restrictionLabels = map[string]string{
	"accuracy_contested": "I contest the accuracy of my data", "unlawful_processing": "The processing is unlawful, but I do not want my data deleted",
	"needed_for_legal_claims": "I need the data for a legal claim", "objection_pending": "I have objected and you are checking your grounds",
}

// formPage shows the intake form (GET / and /requests/new). A browser
// sending the Global Privacy Control signal is told it is honoured.
func (s *Server) formPage(c echo.Context) error {
	return s.renderForm(c, http.StatusOK, nil)
}

func (s *Server) renderForm(c echo.Context, code int, errs map[string]string) error {
	d := s.formData(map[string]string{"kind": c.QueryParam("kind")}, nil, errs)
	d.GPC = hasGPC(c) && s.org.OffersRegime("ccpa")
	c.Response().Header().Add("Vary", "Sec-GPC")
	return c.Render(code, "form.html", d)
}

func (s *Server) formData(v map[string]string, multi map[string][]string, errs map[string]string) *pageData {
	d := s.page()
	d.V, d.Errors = v, errs
	for _, k := range dsr.Kinds {
		if s.org.OffersKind(k) {
			d.Kinds = append(d.Kinds, choice{Value: string(k), Label: k.Label(), Checked: v["kind"] == string(k)})
		}
	}
	for _, o := range dsr.KindFieldValues(dsr.KindOptOut, "opt_out_of") {
		d.OptOutChoices = append(d.OptOutChoices, choice{Value: o, Label: optOutLabels[o], Checked: contains(multi["f_opt_out_opt_out_of"], o)})
	}
	for _, o := range dsr.KindFieldValues(dsr.KindRestriction, "ground") {
		d.RestrictionChoices = append(d.RestrictionChoices, choice{Value: o, Label: restrictionLabels[o], Checked: v["f_restriction_ground"] == o})
	}
	d.Countries, d.States = dsr.Countries(), dsr.USStates
	for _, f := range formFields {
		if msg, ok := errs[f.path]; ok {
			id := f.id
			if f.path == "kind" && len(d.Kinds) > 0 {
				id = "kind-" + d.Kinds[0].Value // the summary's link lands on the first choice, which takes focus
			}
			d.ErrorList = append(d.ErrorList, errorItem{ID: id, Label: f.label, Message: msg})
		}
	}
	return d
}

// formSubmit handles POST /requests from the form: the same Submit as the
// API. Errors come back as the form with messages next to the fields.
func (s *Server) formSubmit(c echo.Context) error {
	form, err := readForm(c)
	if err != nil {
		return err
	}
	v := map[string]string{}
	for k, vals := range form.Value {
		if len(vals) > 0 {
			v[k] = vals[0]
		}
	}
	sub, ferr := submissionFromForm(form)
	if ferr != nil {
		return c.Render(http.StatusUnprocessableEntity, "form.html", s.formData(v, form.Value, map[string]string{"agent.permission": ferr.Error()}))
	}
	rc, err := s.engine.Submit(c.Request().Context(), *sub, "")
	if err != nil {
		return s.formError(c, err, v, form.Value)
	}
	d := s.page()
	d.Receipt = rc
	d.DueLong = rc.DueAt.Long()
	return c.Render(http.StatusCreated, "received.html", d)
}

// readForm reads a multipart or URL-encoded form. File parts go to
// temporary files and the other fields are capped (see multipartMemory);
// the route's body limit bounds the whole.
func readForm(c echo.Context) (*multipart.Form, error) {
	err := c.Request().ParseMultipartForm(multipartMemory)
	if err == nil {
		return c.Request().MultipartForm, nil
	}
	if !errors.Is(err, http.ErrNotMultipart) {
		return nil, formReadError(err)
	}
	if err := c.Request().ParseForm(); err != nil {
		return nil, formReadError(err)
	}
	return &multipart.Form{Value: c.Request().PostForm}, nil
}

func formReadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || strings.Contains(err.Error(), "too large") {
		return dsr.Errorf(dsr.ETOOLARGE, "The form is too large. The permission document may be at most 10 MB.")
	}
	return errBadRequest{"The form could not be read."}
}

func (s *Server) formError(c echo.Context, err error, v map[string]string, multi map[string][]string) error {
	var de *dsr.Error
	if !errors.As(err, &de) || (de.Code != dsr.EINVALID && de.Code != dsr.EUNAVAILABLE) {
		return err
	}
	d := s.formData(v, multi, de.Fields)
	if de.Code == dsr.EUNAVAILABLE {
		d.Unavailable = de.Message
	}
	return c.Render(http.StatusUnprocessableEntity, "form.html", d)
}

// submissionFromForm maps form inputs to a Submission: only the chosen
// kind's f_<kind>_<field> inputs are taken.
func submissionFromForm(form *multipart.Form) (*dsr.Submission, error) {
	get := func(k string) string {
		if vs := form.Value[k]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	kind := get("kind")
	s := &dsr.Submission{Kind: dsr.Kind(kind), Details: get("details"), Channel: dsr.ChannelWeb, Fields: map[string]string{},
		Subject: dsr.Person{Email: get("email"), Name: get("name"), Country: get("country"), State: get("state")}}
	prefix := "f_" + kind + "_"
	for k, vals := range form.Value {
		if name, ok := strings.CutPrefix(k, prefix); ok && kind != "" {
			s.Fields[name] = strings.Join(vals, ",")
		}
	}
	if get("by_agent") == "" {
		return s, nil
	}
	s.Agent = &dsr.Agent{Name: get("agent_name"), Email: get("agent_email")}
	if fhs := form.File["permission"]; len(fhs) > 0 {
		f, err := readUpload(fhs[0])
		if err != nil {
			return nil, err
		}
		s.Agent.Permission = f
	}
	return s, nil
}

// readUpload reads an uploaded file of at most 10 MB.
func readUpload(fh *multipart.FileHeader) (*dsr.File, error) {
	if fh.Size > dsr.MaxPermissionBytes {
		return nil, errors.New("The file must be at most 10 MB.")
	}
	f, err := fh.Open()
	if err != nil {
		return nil, errors.New("The file could not be read.")
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, dsr.MaxPermissionBytes+1))
	if err != nil {
		return nil, errors.New("The file could not be read.")
	}
	return &dsr.File{Filename: fh.Filename, Content: b}, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
