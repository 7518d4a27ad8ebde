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
	{"fields.consent_for", "f-wc-consent-for", "Consent you withdraw"},
	{"fields.decision", "f-ad-decision", "Decision"},
	{"fields.wants", "f-ad-human_review", "What you ask for"},
	{"fields.view", "f-ad-view", "Your view"},
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

// automatedDecisionLabels are the GDPR Art. 22(3) safeguards in plain words.
var automatedDecisionLabels = map[string]string{
	"human_review": "A person reviews the decision",
	"express_view": "I explain my point of view",
	"contest":      "I contest the decision",
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
	// country and state in the query (a link to the form for one place)
	// choose the opt-out choices shown.
	d := s.formData(map[string]string{"kind": c.QueryParam("kind"), "country": c.QueryParam("country"), "state": c.QueryParam("state")}, nil, errs)
	d.GPC, d.GPCLaws = s.gpcNotice(c)
	c.Response().Header().Add("Vary", "Sec-GPC")
	return c.Render(code, "form.html", d)
}

func (s *Server) formData(v map[string]string, multi map[string][]string, errs map[string]string) *pageData {
	d := s.page()
	d.V, d.Errors = v, errs
	for _, k := range dsr.Kinds {
		if s.org.OffersKind(k) {
			d.Kinds = append(d.Kinds, choice{Value: string(k), Label: s.kindLabel(k), Checked: v["kind"] == string(k), Hint: s.org.KindParagraph(k)})
		}
	}
	d.Processor = s.org.Processor
	optOuts := s.optOutChoices(v["country"], v["state"])
	for _, o := range optOuts {
		d.OptOutChoices = append(d.OptOutChoices, choice{Value: o, Label: optOutLabels[o], Checked: contains(multi["f_opt_out_opt_out_of"], o)})
	}
	for _, o := range dsr.KindFieldValues(dsr.KindRestriction, "ground") {
		d.RestrictionChoices = append(d.RestrictionChoices, choice{Value: o, Label: restrictionLabels[o], Checked: v["f_restriction_ground"] == o})
	}
	for _, o := range dsr.KindFieldValues(dsr.KindAutomatedDecision, "wants") {
		d.AutomatedDecisionChoices = append(d.AutomatedDecisionChoices, choice{Value: o, Label: automatedDecisionLabels[o], Checked: contains(multi["f_automated_decision_wants"], o)})
	}
	d.Countries, d.States = dsr.Countries(), dsr.USStates
	for _, f := range formFields {
		if msg, ok := errs[f.path]; ok {
			id := f.id
			if f.path == "fields.opt_out_of" && len(optOuts) > 0 {
				id = "f-oo-" + optOuts[0] // the first choice shown here
			}
			if f.path == "kind" && len(d.Kinds) > 0 {
				id = "kind-" + d.Kinds[0].Value // the summary's link lands on the first choice, which takes focus
			}
			d.ErrorList = append(d.ErrorList, errorItem{ID: id, Label: f.label, Message: msg})
		}
	}
	return d
}

// kindLabel is the kind's label on the form; the opt-out names only the
// choices of the regimes offered (an EU-only organisation's form never
// says "sale").
func (s *Server) kindLabel(k dsr.Kind) string {
	if k != dsr.KindOptOut {
		return k.Label()
	}
	names := map[string]string{"sale": "sale", "sharing": "sharing", "targeted_advertising": "targeted advertising",
		"profiling": "profiling", "direct_marketing": "direct marketing"}
	var parts []string
	for _, o := range s.org.OptOutChoicesOffered() {
		parts = append(parts, names[o])
	}
	return "Opt out (" + strings.Join(parts, ", ") + ")"
}

// optOutChoices are the opt-out choices for a requester living in
// country (and US state): those of the regime that applies there today,
// else of every regime the organisation offers, so an EU-only
// organisation never shows "sale" or "sharing".
func (s *Server) optOutChoices(country, state string) []string {
	if country != "" {
		if r, err := s.org.RegimeFor(country, state, dsr.DateIn(s.engine.Now(), s.org.Location())); err == nil {
			return dsr.OptOutChoices(r)
		}
	}
	return s.org.OptOutChoicesOffered()
}

// optOutProblem says why the opt-out choices chosen on the form do not fit
// the requester's place, or "".
func (s *Server) optOutProblem(kind, country, state string, chosen []string) string {
	if kind != string(dsr.KindOptOut) || country == "" || len(chosen) == 0 {
		return ""
	}
	allowed := s.optOutChoices(country, state)
	for _, c := range chosen {
		if !contains(allowed, c) {
			labels := make([]string, len(allowed))
			for i, a := range allowed {
				labels[i] = strings.ToLower(optOutLabels[a])
			}
			return "Where you live you can opt out of: " + strings.Join(labels, "; ") + ". Choose from these."
		}
	}
	return ""
}

// formSubmit handles POST /requests from the form: the same Submit as the
// API. Errors come back as the form with messages next to the fields.
// An opt-out with a choice the law where the requester lives does not
// have (CCPA "sale" from the Netherlands) comes back as the form with
// that place's choices: the form works without JavaScript, so this
// re-render is how the choices follow the chosen country.
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
	if msg := s.optOutProblem(v["kind"], v["country"], v["state"], form.Value["f_opt_out_opt_out_of"]); msg != "" {
		return c.Render(http.StatusUnprocessableEntity, "form.html", s.formData(v, form.Value, map[string]string{"fields.opt_out_of": msg}))
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

// processorSubmit handles POST /requests/processor, the form's "this is
// about data a client of ours controls" path: it answers with the
// organisation's instructions (on the page and by mail) and records the
// request as redirected. Bad input comes back as the form with the
// messages next to the processor fields (422); an organisation without a
// processor notice has no such path (404).
func (s *Server) processorSubmit(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil {
		return formReadError(err)
	}
	f := c.Request().PostForm
	rd, err := s.engine.Redirect(c.Request().Context(), dsr.RedirectInput{Email: f.Get("email"), Client: f.Get("client")})
	if err != nil {
		var de *dsr.Error
		if !errors.As(err, &de) || de.Code != dsr.EINVALID {
			return err
		}
		d := s.formData(map[string]string{"processor_email": f.Get("email"), "processor_client": f.Get("client")}, nil, de.Fields)
		for _, p := range []struct{ path, id, label string }{{"processor.email", "processor-email", "Your email address"}, {"processor.client", "processor-client", "Which of our clients?"}} {
			if msg, ok := de.Fields[p.path]; ok {
				d.ErrorList = append(d.ErrorList, errorItem{ID: p.id, Label: p.label, Message: msg})
			}
		}
		return c.Render(http.StatusUnprocessableEntity, "form.html", d)
	}
	d := s.page()
	d.Redirected = rd
	return c.Render(http.StatusCreated, "processor.html", d)
}
