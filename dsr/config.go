package dsr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// Config is the organisation's configuration: who it is, which rights it
// offers to whom, and the promises it makes beyond the law. It is loaded
// from one JSON file (DSR_CONFIG). Unknown fields are errors, so a typo
// never silently drops a promise.
type Config struct {
	Organisation Organisation `json:"organisation"`
	TimeZone     string       `json:"time_zone"` // IANA name, e.g. "Europe/Amsterdam"
	Calendar     string       `json:"calendar"`  // holiday calendar code, e.g. "NL"; empty: each regime's default
	// RegimeCalendars overrides Calendar per regime, e.g. a US company
	// that answers UK requests on the England and Wales calendar.
	RegimeCalendars map[string]string `json:"regime_calendars"`
	Locale          string            `json:"locale"`  // default "en"
	Regimes         []string          `json:"regimes"` // regimes offered
	Kinds           []Kind            `json:"kinds"`   // kinds offered; empty: every kind
	Jurisdictions   []Jurisdiction    `json:"jurisdictions"`
	// DefaultRegime applies to requesters from places no jurisdiction
	// names. Empty: rights are offered only to the places listed (Datto:
	// EEA residents only).
	DefaultRegime string    `json:"default_regime"`
	Promises      []Promise `json:"promises"`
	// Voluntary offers kinds to regimes whose law does not give them
	// (Ontra: restriction for everyone, California included).
	Voluntary    []VoluntaryOffer `json:"voluntary"`
	Reminders    Reminders        `json:"reminders"`
	Verification Verification     `json:"verification"`
	Downloads    Downloads        `json:"downloads"`
	Appeals      Appeals          `json:"appeals"`
	Mail         MailConfig       `json:"mail"`
	Retention    Retention        `json:"retention"` // see retention.go
	Systems      []System         `json:"systems"`   // the organisation's data systems (systems.go, fulfil.go)

	// The organisation's own texts (see texts.go); each empty one keeps
	// the law's text.
	Complaints      map[string]Authority `json:"complaints"` // by regime id
	Recourse        []Recourse           `json:"recourse"`
	Representatives []Representative     `json:"representatives"`
	DPO             *DPO                 `json:"dpo"`
	Processor       *ProcessorNotice     `json:"processor"`
	KindParagraphs  map[Kind]string      `json:"kind_paragraphs"`
	// Comment is for the people who keep the file (e.g. the policy
	// sentence a setting comes from); DSR Desk ignores it.
	Comment string `json:"comment"`

	loc *time.Location
}

// Organisation is who the requests are addressed to.
type Organisation struct {
	Name             string `json:"name"`
	ContactEmail     string `json:"contact_email"`
	DPOEmail         string `json:"dpo_email"`
	Address          string `json:"address"`
	PrivacyPolicyURL string `json:"privacy_policy_url"`
	Comment          string `json:"comment"`
}

// Jurisdiction maps requesters' places to a regime. Countries are ISO
// codes or the groups "EU" and "EEA"; States (US only) narrow a US entry.
type Jurisdiction struct {
	Countries []string `json:"countries"`
	States    []string `json:"states"`
	Regime    string   `json:"regime"`
	Comment   string   `json:"comment"`
}

// Promise is an organisation's own deadline, stricter than the law:
// "erasure within 14 days" (UbiOps). Counted as receipt + Days. Regimes
// limits it to some regimes; empty means all.
type Promise struct {
	Kind    Kind     `json:"kind"`
	Days    int      `json:"days"`
	Regimes []string `json:"regimes"`
	Source  string   `json:"source"`
	Comment string   `json:"comment"`
}

// VoluntaryOffer is a right the organisation offers where the law does
// not require it: kind under Regimes (empty: every offered regime that
// does not cover it). Days is the organisation's promised period,
// counted as receipt + Days like a Promise; 0 means the regime's general
// response period (with its extension). Source says where the policy
// offers it.
type VoluntaryOffer struct {
	Kind    Kind     `json:"kind"`
	Regimes []string `json:"regimes"`
	Days    int      `json:"days"`
	Source  string   `json:"source"`
	Comment string   `json:"comment"` // ignored: the policy sentence it comes from
}

// Reminders are the officer reminder offsets in days before the effective
// due date. Default [7, 3, 1, 0].
type Reminders struct {
	OfficerDaysBefore []int `json:"officer_days_before"`
}

// Verification sets the email-confirmation timings in days. Defaults:
// link valid 14, reminder after 3, expiry after 14.
type Verification struct {
	LinkValidDays     int `json:"link_valid_days"`
	ReminderAfterDays int `json:"reminder_after_days"`
	ExpireAfterDays   int `json:"expire_after_days"`
}

// Appeals configures appeals of refusals. WindowDays is how many calendar
// days a requester has to appeal where the law says only "a reasonable
// period" (default DefaultAppealWindowDays, 1–365). ReviewerEmail, when
// set, names the user who reviews every appeal; else the first active
// officer or admin who did not refuse the request reviews it.
type Appeals struct {
	WindowDays    int    `json:"window_days"`
	ReviewerEmail string `json:"reviewer_email"`
}

// Downloads sets how long an export download link works. Default 14 days.
type Downloads struct {
	ValidDays int `json:"valid_days"`
}

// MailConfig is the sender of outgoing mail.
type MailConfig struct {
	From     string `json:"from"`
	FromName string `json:"from_name"`
	// PrivacyAddresses receive requests by email (inbound SMTP).
	PrivacyAddresses []string `json:"privacy_addresses"`
}

// LoadConfig reads and validates the config file at path. Errors name the
// file and the offending field.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	c, err := ParseConfig(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes and validates a config. Errors name the field, e.g.
// `config: promises[0].kind: unknown kind "erase" (valid: …)`.
func ParseConfig(r io.Reader) (*Config, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, &Error{Code: EINVALID, Message: "config: " + describeJSONError(b, err)}
	}
	if dec.More() {
		return nil, Errorf(EINVALID, "config: trailing data after the JSON object")
	}
	c.applyDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func describeJSONError(b []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := bytes.Count(b[:se.Offset], []byte("\n")) + 1
		return fmt.Sprintf("invalid JSON on line %d: %v", line, se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s: must be of type %s, not %s", te.Field, te.Type, te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func (c *Config) applyDefaults() {
	if c.Locale == "" {
		c.Locale = "en"
	}
	if c.TimeZone == "" {
		c.TimeZone = "UTC"
	}
	if len(c.Kinds) == 0 {
		c.Kinds = append([]Kind(nil), Kinds...)
	}
	if c.Reminders.OfficerDaysBefore == nil {
		c.Reminders.OfficerDaysBefore = []int{7, 3, 1, 0}
	}
	v := &c.Verification
	if v.LinkValidDays == 0 {
		v.LinkValidDays = 14
	}
	if v.ReminderAfterDays == 0 {
		v.ReminderAfterDays = 3
	}
	if v.ExpireAfterDays == 0 {
		v.ExpireAfterDays = 14
	}
	if c.Downloads.ValidDays == 0 {
		c.Downloads.ValidDays = 14
	}
	if c.Appeals.WindowDays == 0 {
		c.Appeals.WindowDays = DefaultAppealWindowDays
	}
}

type fieldErr struct{ field, msg string }

func (c *Config) validate() error {
	var errs []fieldErr
	add := func(field, format string, args ...any) {
		errs = append(errs, fieldErr{field, fmt.Sprintf(format, args...)})
	}
	c.validateOrganisation(add)
	c.validatePlaces(add)
	c.validateVoluntary(add)
	c.validateTimings(add)
	c.validateTexts(add)
	c.validateRetention(add)
	c.validateSystems(add)
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].field < errs[j].field })
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.field + ": " + e.msg
	}
	return &Error{Code: EINVALID, Message: "config: " + strings.Join(msgs, "; ")}
}

type addFunc func(field, format string, args ...any)

func (c *Config) validateOrganisation(add addFunc) {
	if strings.TrimSpace(c.Organisation.Name) == "" {
		add("organisation.name", "is required")
	}
	if !validEmail(c.Organisation.ContactEmail) {
		add("organisation.contact_email", "must be an email address")
	}
	if c.Organisation.DPOEmail != "" && !validEmail(c.Organisation.DPOEmail) {
		add("organisation.dpo_email", "must be an email address")
	}
	if !validEmail(c.Mail.From) {
		add("mail.from", "must be an email address")
	}
	for i, a := range c.Mail.PrivacyAddresses {
		if !validEmail(a) {
			add(fmt.Sprintf("mail.privacy_addresses[%d]", i), "must be an email address")
		}
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		add("time_zone", "unknown time zone %q (use an IANA name such as Europe/Amsterdam)", c.TimeZone)
	}
	c.loc = loc
	if c.Calendar != "" {
		if _, err := LookupCalendar(c.Calendar); err != nil {
			add("calendar", "%s", ErrorMessage(err))
		}
	}
	for id, code := range c.RegimeCalendars {
		if !c.offers(id) {
			add("regime_calendars."+id, "%q is not in regimes", id)
		}
		if _, err := LookupCalendar(code); err != nil {
			add("regime_calendars."+id, "%s", ErrorMessage(err))
		}
	}
	if c.Locale != "en" {
		add("locale", "unsupported locale %q (valid: en)", c.Locale)
	}
}

func (c *Config) validatePlaces(add addFunc) {
	if len(c.Regimes) == 0 {
		add("regimes", "at least one regime is required (valid: %s)", strings.Join(RegimeIDs(), ", "))
	}
	for i, id := range c.Regimes {
		if _, err := LookupRegime(id); err != nil {
			add(fmt.Sprintf("regimes[%d]", i), "%s", ErrorMessage(err))
		}
	}
	for i, k := range c.Kinds {
		if _, err := ParseKind(string(k)); err != nil {
			add(fmt.Sprintf("kinds[%d]", i), "%s", ErrorMessage(err))
		}
	}
	if len(c.Jurisdictions) == 0 && c.DefaultRegime == "" {
		add("jurisdictions", "name at least one place, or set default_regime")
	}
	for i, j := range c.Jurisdictions {
		c.validateJurisdiction(fmt.Sprintf("jurisdictions[%d]", i), j, add)
	}
	if c.DefaultRegime != "" && !c.offers(c.DefaultRegime) {
		add("default_regime", "%q is not in regimes", c.DefaultRegime)
	}
	for i, p := range c.Promises {
		f := fmt.Sprintf("promises[%d]", i)
		if _, err := ParseKind(string(p.Kind)); err != nil {
			add(f+".kind", "%s", ErrorMessage(err))
		}
		if p.Days < 1 || p.Days > 365 {
			add(f+".days", "must be between 1 and 365")
		}
		for k, id := range p.Regimes {
			if !c.offers(id) {
				add(fmt.Sprintf("%s.regimes[%d]", f, k), "%q is not in regimes", id)
			}
		}
	}
}

func (c *Config) validateVoluntary(add addFunc) {
	for i, v := range c.Voluntary {
		f := fmt.Sprintf("voluntary[%d]", i)
		if _, err := ParseKind(string(v.Kind)); err != nil {
			add(f+".kind", "%s", ErrorMessage(err))
		} else if !c.OffersKind(v.Kind) {
			add(f+".kind", "%q is not in kinds", v.Kind)
		}
		if v.Days < 0 || v.Days > 365 {
			add(f+".days", "must be between 0 (the regime's general response period) and 365")
		}
		for k, id := range v.Regimes {
			if !c.offers(id) {
				add(fmt.Sprintf("%s.regimes[%d]", f, k), "%q is not in regimes", id)
			} else if r, _ := LookupRegime(id); r.Covers(v.Kind) {
				add(fmt.Sprintf("%s.regimes[%d]", f, k), "%s already gives a right of %s: a promise, not a voluntary offer, sets its period", r.Short, v.Kind.Short())
			}
		}
	}
}

func (c *Config) validateJurisdiction(f string, j Jurisdiction, add addFunc) {
	if len(j.Countries) == 0 {
		add(f+".countries", "at least one country code or group (EU, EEA) is required")
	}
	for k, cc := range j.Countries {
		if _, group := countryGroups[strings.ToUpper(cc)]; group {
			continue
		}
		if _, ok := NormalizeCountry(cc); !ok {
			add(fmt.Sprintf("%s.countries[%d]", f, k), "%q is not an ISO 3166-1 country code or group (EU, EEA)", cc)
		}
	}
	for k, st := range j.States {
		if _, ok := NormalizeState(st); !ok {
			add(fmt.Sprintf("%s.states[%d]", f, k), "%q is not a US state code", st)
		}
	}
	if !c.offers(j.Regime) {
		add(f+".regime", "%q is not in regimes", j.Regime)
	}
}

func (c *Config) validateTimings(add addFunc) {
	for i, d := range c.Reminders.OfficerDaysBefore {
		if d < 0 || d > 90 {
			add(fmt.Sprintf("reminders.officer_days_before[%d]", i), "must be between 0 and 90")
		}
	}
	v := c.Verification
	if v.LinkValidDays < 1 || v.LinkValidDays > 90 {
		add("verification.link_valid_days", "must be between 1 and 90")
	}
	if v.ExpireAfterDays < 1 || v.ExpireAfterDays > 90 {
		add("verification.expire_after_days", "must be between 1 and 90")
	}
	if v.ReminderAfterDays < 1 || v.ReminderAfterDays >= v.ExpireAfterDays {
		add("verification.reminder_after_days", "must be at least 1 and less than expire_after_days")
	}
	if c.Downloads.ValidDays < 1 || c.Downloads.ValidDays > 90 {
		add("downloads.valid_days", "must be between 1 and 90")
	}
	if c.Appeals.WindowDays < 1 || c.Appeals.WindowDays > 365 {
		add("appeals.window_days", "must be between 1 and 365")
	}
}

func validEmail(s string) bool { return ValidEmail(s) }

// offers reports whether the regime id is in the config's regimes.
func (c *Config) offers(id string) bool {
	r, err := LookupRegime(id)
	if err != nil {
		return false
	}
	for _, o := range c.Regimes {
		if or, err := LookupRegime(o); err == nil && or == r {
			return true
		}
	}
	return false
}

// Location returns the organisation's time zone.
func (c *Config) Location() *time.Location {
	if c.loc == nil {
		return time.UTC
	}
	return c.loc
}

// OffersKind reports whether the organisation takes requests of kind k.
func (c *Config) OffersKind(k Kind) bool {
	for _, o := range c.Kinds {
		if o == k {
			return true
		}
	}
	return false
}

// OffersRegime reports whether the organisation applies regime id.
func (c *Config) OffersRegime(id string) bool { return c.offers(id) }

// RegimeFor returns the regime that applies to a request received on
// received from a requester living in country (ISO code) and, for the US,
// state. The first matching jurisdiction whose regime is in force on
// received wins; entries with states match only those states. A law not
// yet in force does not apply: matching goes on, then falls to the
// default regime (if that is in force). Errors: EUNAVAILABLE when the
// organisation offers no rights there on that day.
func (c *Config) RegimeFor(country, state string, received Date) (*Regime, error) {
	country = strings.ToUpper(country)
	state = strings.ToUpper(state)
	for _, j := range c.Jurisdictions {
		if !j.matches(country, state) {
			continue
		}
		r, err := LookupRegime(j.Regime)
		if err != nil {
			return nil, err
		}
		if r.InForce(received) {
			return r, nil
		}
	}
	if c.DefaultRegime != "" {
		r, err := LookupRegime(c.DefaultRegime)
		if err != nil || r.InForce(received) {
			return r, err
		}
	}
	where := CountryName(country)
	if state != "" {
		where = state + ", " + where
	}
	return nil, &Error{Code: EUNAVAILABLE, Message: fmt.Sprintf("%s does not offer data-subject rights to people living in %s. Contact %s with any question.", c.Organisation.Name, where, c.Organisation.ContactEmail)}
}

func (j Jurisdiction) matches(country, state string) bool {
	in := false
	for _, cc := range j.Countries {
		if g, ok := countryGroups[strings.ToUpper(cc)]; ok {
			for _, m := range g {
				in = in || m == country
			}
			continue
		}
		in = in || strings.EqualFold(cc, country)
	}
	if !in || len(j.States) == 0 {
		return in
	}
	for _, s := range j.States {
		if strings.EqualFold(s, state) {
			return true
		}
	}
	return false
}

// PromiseFor returns the strictest promise for kind k under regime id
// (days, source), or 0 when there is none.
func (c *Config) PromiseFor(k Kind, regimeID string) (int, string) {
	best, src := 0, ""
	for _, p := range c.Promises {
		if p.Kind != k || !p.appliesTo(regimeID) {
			continue
		}
		if best == 0 || p.Days < best {
			best, src = p.Days, p.Source
		}
	}
	return best, src
}

func (p Promise) appliesTo(regimeID string) bool {
	if len(p.Regimes) == 0 {
		return true
	}
	for _, id := range p.Regimes {
		if r, err := LookupRegime(id); err == nil && r.ID == regimeID {
			return true
		}
	}
	return false
}

// VoluntaryFor returns the organisation's voluntary offer of kind k to
// regime r (a kind r's law does not give), or nil when there is none or
// the law gives the right anyway.
func (c *Config) VoluntaryFor(k Kind, r *Regime) *VoluntaryOffer {
	if r == nil || r.Covers(k) || !c.OffersKind(k) {
		return nil
	}
	for i := range c.Voluntary {
		v := &c.Voluntary[i]
		if v.Kind != k {
			continue
		}
		if len(v.Regimes) == 0 {
			return v
		}
		for _, id := range v.Regimes {
			if or, err := LookupRegime(id); err == nil && or == r {
				return v
			}
		}
	}
	return nil
}

// voluntaryDays is the promised period of a voluntary offer of kind k
// under regime id, with its source; 0 when there is none.
func (c *Config) voluntaryDays(k Kind, regimeID string) (int, string) {
	r, err := LookupRegime(regimeID)
	if err != nil {
		return 0, ""
	}
	if v := c.VoluntaryFor(k, r); v != nil {
		return v.Days, v.Source
	}
	return 0, ""
}

// CalendarFor returns the working-day calendar for regime r: the
// regime_calendars entry, else the organisation's calendar, else the
// regime's default.
func (c *Config) CalendarFor(r *Regime) *Calendar {
	code := c.Calendar
	for id, override := range c.RegimeCalendars {
		if or, err := LookupRegime(id); err == nil && or == r {
			code = override
		}
	}
	if code == "" {
		code = r.Calendar
	}
	cal, err := LookupCalendar(code)
	if err != nil { // validated at load; the regime default is always valid
		cal, _ = LookupCalendar(r.Calendar)
	}
	return cal
}

// Deadlines computes the dates of a request of kind k under r received at
// the instant received, in the organisation's time zone and calendar and
// with its promises.
func (c *Config) Deadlines(r *Regime, k Kind, received time.Time) (Deadlines, error) {
	days, src := c.PromiseFor(k, r.ID)
	return ComputeDeadlines(DeadlineInput{
		Regime: r, Kind: k, Received: DateIn(received, c.Location()),
		Calendar: c.CalendarFor(r), PromiseDays: days, PromiseSource: src,
		Voluntary: c.VoluntaryFor(k, r),
	})
}
