package dsr

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

// Period is a legal time period: either whole months (GDPR-style "one
// month") or a number of calendar or business days.
type Period struct {
	Months int    `json:"months,omitempty"`
	Days   int    `json:"days,omitempty"`
	Unit   string `json:"unit,omitempty"` // "calendar" or "business"; empty for months
}

// Unit values of a Period.
const (
	UnitCalendar = "calendar"
	UnitBusiness = "business"
)

// String describes p in words: "1 month", "45 calendar days".
func (p Period) String() string {
	if p.Months > 0 {
		if p.Months == 1 {
			return "1 month"
		}
		return fmt.Sprintf("%d months", p.Months)
	}
	return fmt.Sprintf("%d %s days", p.Days, p.Unit)
}

func (p Period) valid() bool {
	if p.Months > 0 {
		return p.Days == 0 && p.Unit == ""
	}
	return p.Days > 0 && (p.Unit == UnitCalendar || p.Unit == UnitBusiness)
}

// KindPeriod overrides the response period for one kind (CCPA opt-outs:
// 15 business days, no extension).
type KindPeriod struct {
	Period     Period `json:"period"`
	Extendable bool   `json:"extendable"`
	Rule       string `json:"rule"`
}

// Ack is a legal duty to acknowledge receipt within a period.
type Ack struct {
	Period Period `json:"period"`
	Kinds  []Kind `json:"kinds"`
	Rule   string `json:"rule"`
}

// Extension says how a response period may be extended. Total is counted
// from the same start as the response period (GDPR: three months from
// receipt; CCPA: 90 days from receipt).
type Extension struct {
	Total           Period `json:"total"`
	MaxTimes        int    `json:"max_times"`
	NoticeWithin    Period `json:"notice_within"`
	ReasonsRequired bool   `json:"reasons_required"`
	Rule            string `json:"rule"`
}

// Pause says that the regime stops the clock while the controller waits
// for information it asked the requester for.
type Pause struct {
	Rule string `json:"rule"`
}

// Regime is one privacy law's rules for data-subject requests, loaded from
// the embedded regimes.json (derived from shared/reference/regimes.json).
type Regime struct {
	ID           string              `json:"id"`
	SourceID     string              `json:"source_id"`
	Short        string              `json:"short"`
	Name         string              `json:"name"`
	Jurisdiction string              `json:"jurisdiction"`
	Citation     string              `json:"citation"`
	Kinds        []Kind              `json:"kinds"`
	MonthRule    string              `json:"month_rule"` // "eu" or "uk" for month periods
	Response     Period              `json:"response"`
	ResponseNote string              `json:"response_note"`
	KindPeriods  map[Kind]KindPeriod `json:"kind_periods"`
	Ack          *Ack                `json:"ack"`
	Extension    *Extension          `json:"extension"`
	VerifyOptOut bool                `json:"verify_opt_out"`
	OptOutNote   string              `json:"opt_out_note"`
	Pause        *Pause              `json:"pause"`
	PauseNote    string              `json:"pause_note"`
	Appeal       *Period             `json:"appeal"`
	Calendar     string              `json:"calendar"`
	CalendarNote string              `json:"calendar_note"`
	Complaint    string              `json:"complaint"`
	Unverified   []string            `json:"unverified"`
}

//go:embed regimes.json
var regimesJSON []byte

var regimes = mustLoadRegimes(regimesJSON)

func mustLoadRegimes(b []byte) []*Regime {
	var rs []*Regime
	if err := json.Unmarshal(b, &rs); err != nil {
		panic("dsr: embedded regimes.json: " + err.Error())
	}
	for _, r := range rs {
		if err := r.validate(); err != nil {
			panic("dsr: embedded regimes.json: " + err.Error())
		}
	}
	return rs
}

func (r *Regime) validate() error {
	if r.ID == "" || len(r.Kinds) == 0 || !r.Response.valid() {
		return fmt.Errorf("regime %q: id, kinds and response are required", r.ID)
	}
	if r.Response.Months > 0 && r.MonthRule != "eu" && r.MonthRule != "uk" {
		return fmt.Errorf("regime %q: month periods need month_rule eu or uk", r.ID)
	}
	if _, err := LookupCalendar(r.Calendar); err != nil {
		return fmt.Errorf("regime %q: %w", r.ID, err)
	}
	for _, k := range r.Kinds {
		if _, err := ParseKind(string(k)); err != nil {
			return fmt.Errorf("regime %q: %w", r.ID, err)
		}
	}
	if r.Extension != nil && (!r.Extension.Total.valid() || r.Extension.MaxTimes < 1) {
		return fmt.Errorf("regime %q: extension needs total and max_times", r.ID)
	}
	return nil
}

// Regimes returns every known regime, in the order of regimes.json.
func Regimes() []*Regime { return regimes }

// RegimeIDs returns the ids of every known regime.
func RegimeIDs() []string {
	ids := make([]string, len(regimes))
	for i, r := range regimes {
		ids[i] = r.ID
	}
	return ids
}

// LookupRegime returns the regime with the given id. Hyphenated ids of the
// reference data ("uk-gdpr", "cpa-co") are accepted too. Errors: EINVALID
// naming the valid ids.
func LookupRegime(id string) (*Regime, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	for _, r := range regimes {
		if r.ID == id || r.SourceID == id {
			return r, nil
		}
	}
	return nil, Errorf(EINVALID, "unknown regime %q (valid: %s)", id, strings.Join(RegimeIDs(), ", "))
}

// Covers reports whether the regime gives a right of kind k.
func (r *Regime) Covers(k Kind) bool {
	for _, c := range r.Kinds {
		if c == k {
			return true
		}
	}
	return false
}

// RequiresVerification reports whether a request of kind k must wait for
// the data subject to confirm their email before it proceeds. Opt-outs
// skip it where the law forbids verification for them (CCPA §7026,
// Connecticut, Oregon, GDPR direct-marketing objections).
func (r *Regime) RequiresVerification(k Kind) bool {
	if k == KindOptOut {
		return r.VerifyOptOut
	}
	return true
}

// PeriodFor returns the response period for kind k, whether it may be
// extended, and the rule in words.
func (r *Regime) PeriodFor(k Kind) (p Period, extendable bool, rule string) {
	if kp, ok := r.KindPeriods[k]; ok {
		return kp.Period, kp.Extendable && r.Extension != nil, kp.Rule
	}
	rule = r.Short + ": respond within " + r.Response.String() + " of receipt"
	if r.ResponseNote != "" {
		rule += " (" + r.ResponseNote + ")"
	}
	return r.Response, r.Extension != nil, rule
}

// AckFor returns the acknowledgment duty for kind k, or nil.
func (r *Regime) AckFor(k Kind) *Ack {
	if r.Ack == nil {
		return nil
	}
	for _, c := range r.Ack.Kinds {
		if c == k {
			return r.Ack
		}
	}
	return nil
}

// PausesClock reports whether the regime stops the clock while waiting for
// the requester.
func (r *Regime) PausesClock() bool { return r.Pause != nil }
