package api

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// gpcLastUpdate is when this site's GPC support last changed, for
// /.well-known/gpc.json.
const gpcLastUpdate = "2026-11-22"

const deviceCookie = "dsr_device"

// hasGPC reports whether the request carries Sec-GPC: 1 (every field).
func hasGPC(c echo.Context) bool {
	return dsr.GPCSignal(c.Request().Header.Values("Sec-GPC"))
}

// gpcWellKnown serves the GPC support resource.
func (s *Server) gpcWellKnown(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"gpc": true, "lastUpdate": gpcLastUpdate})
}

type gpcInput struct {
	Email    string `json:"email"`
	DeviceID string `json:"device_id"`
	// Country and State, optional, choose the law the signal falls under
	// (dsr.GPCRegime).
	Country string `json:"country"`
	State   string `json:"state"`
}

// gpcRecorded is the one answer to a GPC opt-out, new or repeated: it
// carries no id, reference, time or link, so it cannot tell anyone whether
// an email or device had already opted out, nor hand out a link that could
// withdraw the opt-out.
type gpcRecorded struct {
	Status   string `json:"status"`
	Regime   string `json:"regime"`
	OptOutOf string `json:"opt_out_of"`
}

// apiGPC records a GPC opt-out: POST /api/v1/gpc with Sec-GPC: 1 and
// {"email", "device_id"} (at least one), optionally "country" and
// "state" to say where the person lives. 202 {"status": "recorded",
// "regime": the law that requires honouring it, …}, the same bytes for a
// new and a repeated signal; 422 without the signal or an identifier, or
// for a malformed place; 503 where no applied law requires it.
func (s *Server) apiGPC(c echo.Context) error {
	if !hasGPC(c) {
		return &dsr.Error{Code: dsr.EINVALID, Message: "No Global Privacy Control signal.", Fields: map[string]string{"Sec-GPC": "send the header Sec-GPC: 1"}}
	}
	if err := requireJSON(c.Request()); err != nil {
		return err
	}
	var in gpcInput
	if err := newStrictDecoder(c.Request().Body).Decode(&in); err != nil {
		return jsonError(err)
	}
	if in.Email != "" && !dsr.ValidEmail(strings.TrimSpace(in.Email)) {
		return dsr.InvalidField("email", "is not an email address")
	}
	if len(in.DeviceID) > 200 {
		return dsr.InvalidField("device_id", "must be at most 200 characters")
	}
	if len(in.Country) > 8 || len(in.State) > 8 {
		return dsr.InvalidField("country", "use ISO codes, e.g. US and CO")
	}
	rc, err := s.engine.SubmitGPCAt(c.Request().Context(), in.Email, in.DeviceID, in.Country, in.State)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, gpcRecorded{Status: "recorded", Regime: rc.Law, OptOutOf: dsr.GPCOptOut})
}

// gpcForm records the signal from the form page (POST /gpc): the browser
// is identified by a random cookie, plus the email if the visitor gives
// one. The confirmation is the same whether or not the browser or email
// had opted out before.
func (s *Server) gpcForm(c echo.Context) error {
	d := s.page()
	d.GPC = hasGPC(c)
	if !d.GPC {
		d.Title, d.Message = "No Global Privacy Control signal", "Your browser did not send the Global Privacy Control signal. You can still opt out with the form."
		return c.Render(http.StatusUnprocessableEntity, "error.html", d)
	}
	email := strings.TrimSpace(c.FormValue("email"))
	if email != "" && !dsr.ValidEmail(email) {
		return s.renderForm(c, http.StatusUnprocessableEntity, map[string]string{"gpc_email": "Enter an email address like name@example.com."})
	}
	if _, err := s.engine.SubmitGPC(c.Request().Context(), email, s.deviceID(c)); err != nil {
		return err
	}
	return c.Render(http.StatusOK, "gpc_recorded.html", d)
}

// deviceID returns the browser's random id cookie, setting one if absent.
func (s *Server) deviceID(c echo.Context) string {
	if ck, err := c.Cookie(deviceCookie); err == nil && len(ck.Value) >= 16 && len(ck.Value) <= 64 {
		return ck.Value
	}
	id := "browser-" + newSecret()[:22]
	c.SetCookie(&http.Cookie{Name: deviceCookie, Value: id, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int((400 * 24 * time.Hour).Seconds())})
	return id
}

// apiOptOuts is the feed for systems that sell or share:
// GET /api/v1/admin/opt-outs?since=RFC3339|YYYY-MM-DD[&system=NAME][&limit][&cursor].
func (s *Server) apiOptOuts(c echo.Context) error {
	fe := dsr.FieldErrors{}
	since := time.Time{}
	if v := c.QueryParam("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			d, derr := dsr.ParseDate(v)
			if derr != nil {
				fe.Add("since", "use RFC 3339 (2026-11-22T10:00:00Z) or YYYY-MM-DD")
			}
			t = d.Start(s.org.Location())
		}
		since = t
	}
	limit := 100
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fe.Add("limit", "must be a number from 1 to 1000")
		}
		limit = n
	}
	var after *workflow.OptOutCursor
	if v := c.QueryParam("cursor"); v != "" {
		cur, err := parseOptOutCursor(v)
		if err != nil {
			fe.Add("cursor", "is not a cursor from a previous page")
		}
		after = cur
	}
	if err := fe.Err(); err != nil {
		return err
	}
	list, next, err := s.engine.OptOuts(c.Request().Context(), since, c.QueryParam("system"), after, limit)
	if err != nil {
		return err
	}
	data := make([]apiOptOut, 0, len(list))
	for _, o := range list {
		data = append(data, apiOptOutOf(o))
	}
	out := map[string]any{"data": data, "next_cursor": nil}
	if next != nil {
		out["next_cursor"] = base64.RawURLEncoding.EncodeToString([]byte(next.At.UTC().Format(time.RFC3339Nano) + "_" + strconv.FormatInt(next.Ref, 10)))
	}
	return c.JSON(http.StatusOK, out)
}

func parseOptOutCursor(v string) (*workflow.OptOutCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil, err
	}
	at, ref, _ := strings.Cut(string(b), "_")
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		return nil, err
	}
	return &workflow.OptOutCursor{At: t, Ref: n}, nil
}

// apiOptOut is one opt-out in GET /api/v1/admin/opt-outs.
type apiOptOut struct {
	ID         string           `json:"id"`
	Ref        string           `json:"ref"`
	Channel    string           `json:"channel"`
	Regime     string           `json:"regime"`
	Status     dsr.Status       `json:"status"`
	ReceivedAt time.Time        `json:"received_at"`
	DueOn      dsr.Date         `json:"due_on"`
	Email      string           `json:"email,omitempty"`
	DeviceID   string           `json:"device_id,omitempty"`
	OptOutOf   string           `json:"opt_out_of"`
	Applied    []apiApplication `json:"applied"`
	// Tasks is where each system's task of the opt-out stands (the
	// systems taking opt_out), e.g. [{"system": "newsletter", "status":
	// "done", "finished_at": …}].
	Tasks []workflow.OptOutTask `json:"tasks"`
	// RequiredBy is the law that required the opt-out.
	RequiredBy apiRequiredBy `json:"required_by"`
}

// apiRequiredBy names the law behind an opt-out: for a GPC signal, the
// rule that requires honouring it.
type apiRequiredBy struct {
	Regime   string `json:"regime"`
	Citation string `json:"citation"`
	Rule     string `json:"rule,omitempty"`
}

// apiApplication says that a system applied an opt-out, and when.
type apiApplication struct {
	System    string    `json:"system"`
	AppliedAt time.Time `json:"applied_at"`
}

func apiOptOutOf(o workflow.OptOut) apiOptOut {
	out := apiOptOut{ID: o.ID, Ref: o.Ref, Channel: o.Channel, Regime: o.Regime, Status: o.Status, ReceivedAt: o.ReceivedAt,
		DueOn: o.DueOn, Email: o.Email, DeviceID: o.DeviceID, OptOutOf: o.OptOutOf,
		// Never null: an opt-out no system applied yet answers "applied": [].
		Applied: make([]apiApplication, 0, len(o.Applied)), RequiredBy: apiRequiredBy{Regime: o.Regime}, Tasks: o.Tasks}
	if out.Tasks == nil {
		out.Tasks = []workflow.OptOutTask{}
	}
	if reg, err := dsr.LookupRegime(o.Regime); err == nil {
		out.RequiredBy.Citation = reg.Citation
		if o.Channel == string(dsr.ChannelGPC) && reg.GPC != nil {
			out.RequiredBy.Rule = reg.GPC.Rule
		}
	}
	for _, a := range o.Applied {
		out.Applied = append(out.Applied, apiApplication{System: a.System, AppliedAt: a.AppliedAt})
	}
	return out
}

// apiOptOutApplied: POST /api/v1/admin/opt-outs/{id}/applied {"system": "adtech"}.
func (s *Server) apiOptOutApplied(c echo.Context) error {
	if !isUUID(c.Param("id")) {
		return dsr.Errorf(dsr.ENOTFOUND, "no such opt-out")
	}
	var in struct {
		System string `json:"system"`
	}
	if err := requireJSON(c.Request()); err != nil {
		return err
	}
	if err := newStrictDecoder(c.Request().Body).Decode(&in); err != nil {
		return jsonError(err)
	}
	if err := s.engine.MarkOptOutApplied(c.Request().Context(), c.Param("id"), in.System, currentUser(c).ID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"id": c.Param("id"), "system": in.System, "status": "applied"})
}

// gpcNotice reports whether the form tells a browser sending the signal
// that it is honoured (some law the organisation applies requires it
// today), and names those laws.
func (s *Server) gpcNotice(c echo.Context) (bool, string) {
	if !hasGPC(c) {
		return false, ""
	}
	laws := dsr.GPCLaws(s.org, s.today())
	if len(laws) == 0 {
		return false, ""
	}
	names := make([]string, len(laws))
	for i, r := range laws {
		names[i] = r.Short
	}
	if len(names) == 1 {
		return true, names[0] + " requires it"
	}
	return true, strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " require it"
}
