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
// for information it asked the requester for, and for which reasons of
// asking (InfoReasons: "identity", "clarification", "fee", "other"); a
// question for any other reason leaves the clock running.
type Pause struct {
	Rule    string   `json:"rule"`
	Reasons []string `json:"reasons"`
}

// Fees is a regime's fee rule: the reasons (FeeReasons) for which the
// organisation may ask a fee and the clock while it waits (FeeClock…).
type Fees struct {
	Reasons []string `json:"reasons"`
	Clock   string   `json:"clock"`
	Rule    string   `json:"rule"`
}

// What the clock does while a fee is awaited.
const (
	// FeeClockRestart: the period starts again when the fee is received
	// (UK GDPR Art. 12(5), DPA 2018: the time limit begins on receipt).
	FeeClockRestart = "restart"
	// FeeClockPause: the days awaiting the fee do not count.
	FeeClockPause = "pause"
	// FeeClockRun: the clock keeps running.
	FeeClockRun = "run"
)

// Allows reports whether f lets the organisation charge for reason.
func (f *Fees) Allows(reason string) bool {
	if f == nil {
		return false
	}
	for _, r := range f.Reasons {
		if r == reason {
			return true
		}
	}
	return false
}

// Regime is one privacy law's rules for data-subject requests, loaded from
// the embedded regimes.json (derived from shared/reference/regimes.json,
// corrected by regimes-2026-update.md; figures marked UNVERIFIED there use
// the shorter reading and say so in their rule and in Unverified).
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
	// Fees says for which reasons the organisation may charge a fee and
	// what the clock does while the fee is awaited (nil: no fee).
	Fees         *Fees   `json:"fees"`
	PauseNote    string  `json:"pause_note"`
	Appeal       *Appeal `json:"appeal"`
	Calendar     string  `json:"calendar"`
	CalendarNote string  `json:"calendar_note"`
	Complaint    string  `json:"complaint"`
	// ComplaintRoutes are the authorities a refused or upheld requester
	// may complain to (an Attorney General, the CPPA, a data protection
	// authority), for mails and pages.
	ComplaintRoutes []ComplaintRoute `json:"complaint_routes"`
	// Effective is the first day the law applies to requests; a request
	// received earlier falls to another regime (see Config.RegimeFor).
	Effective Date `json:"effective"`
	// EffectiveNote gives the law's other dates (phased duties,
	// amendments).
	EffectiveNote string `json:"effective_note"`
	// ClockStart is when the response period starts: ClockReceipt (the
	// default) or ClockVerifiedReceipt (New Jersey: receipt of a verified
	// request). ClockStartNote explains how DSR Desk counts it.
	ClockStart     string `json:"clock_start"`
	ClockStartNote string `json:"clock_start_note"`
	// GPC says whether a universal opt-out signal (Global Privacy
	// Control) must be honoured as an opt-out, and from when.
	GPC *GPCRule `json:"gpc"`
	// Agents is the authorized-agent rule in words.
	Agents string `json:"agents"`
	// FreeRequests limits how many requests a consumer gets free of
	// charge; KindLimits adds per-kind limits (Indiana: a copy or a
	// representative summary, once per 12 months).
	FreeRequests *RequestLimit         `json:"free_requests"`
	KindLimits   map[Kind]RequestLimit `json:"kind_limits"`
	Unverified   []string              `json:"unverified"`
}

// Clock start values of a Regime.
const (
	ClockReceipt         = "receipt"
	ClockVerifiedReceipt = "verified_receipt"
)

// Appeal is a regime's right to appeal a refusal. Window is how long the
// consumer has to appeal after the refusal: nil means the law says "a
// reasonable period", so the organisation's config decides (default
// DefaultAppealWindowDays). Answer is how long the controller has to
// decide, counted from receipt of the appeal; Extension, when set,
// extends it (Colorado: by 60 days), with Total counted from the same
// receipt.
type Appeal struct {
	Window     *Period    `json:"window"`
	WindowRule string     `json:"window_rule"`
	Answer     Period     `json:"answer"`
	Extension  *Extension `json:"extension"`
	Rule       string     `json:"rule"`
}

// DefaultAppealWindowDays is the appeal window an organisation gets when
// the law only says "a reasonable period" and its config names none.
const DefaultAppealWindowDays = 60

// ComplaintRoute is an authority a requester may complain to.
type ComplaintRoute struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// GPCRule says whether a regime requires honouring a universal opt-out
// signal such as Global Privacy Control, from which day, and why.
type GPCRule struct {
	Required bool   `json:"required"`
	From     Date   `json:"from"`
	Rule     string `json:"rule"`
}

// RequestLimit is a number of requests per period that must be answered
// free of charge (or at all, for per-kind limits).
type RequestLimit struct {
	Times int    `json:"times"`
	Per   string `json:"per"` // "12 months" or "calendar year"
	Rule  string `json:"rule"`
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
	if r.Effective.IsZero() || r.Citation == "" {
		return fmt.Errorf("regime %q: effective date and citation are required", r.ID)
	}
	if r.ClockStart != "" && r.ClockStart != ClockReceipt && r.ClockStart != ClockVerifiedReceipt {
		return fmt.Errorf("regime %q: clock_start must be %s or %s", r.ID, ClockReceipt, ClockVerifiedReceipt)
	}
	if a := r.Appeal; a != nil {
		if !a.Answer.valid() || (a.Window != nil && !a.Window.valid()) {
			return fmt.Errorf("regime %q: appeal needs a valid answer period", r.ID)
		}
		if a.Extension != nil && (!a.Extension.Total.valid() || a.Extension.MaxTimes < 1) {
			return fmt.Errorf("regime %q: appeal extension needs total and max_times", r.ID)
		}
	}
	if p := r.Pause; p != nil {
		if len(p.Reasons) == 0 {
			return fmt.Errorf("regime %q: pause needs the reasons that stop the clock", r.ID)
		}
		for _, reason := range p.Reasons {
			if !validInfoReason(reason) {
				return fmt.Errorf("regime %q: unknown pause reason %q (valid: %s)", r.ID, reason, strings.Join(InfoReasons, ", "))
			}
		}
	}
	if f := r.Fees; f != nil {
		if len(f.Reasons) == 0 || f.Rule == "" {
			return fmt.Errorf("regime %q: fees need reasons and a rule", r.ID)
		}
		for _, reason := range f.Reasons {
			if !validFeeReason(reason) {
				return fmt.Errorf("regime %q: unknown fee reason %q (valid: %s)", r.ID, reason, strings.Join(FeeReasons, ", "))
			}
		}
		if f.Clock != FeeClockRestart && f.Clock != FeeClockPause && f.Clock != FeeClockRun {
			return fmt.Errorf("regime %q: fee clock %q (valid: restart, pause, run)", r.ID, f.Clock)
		}
	}
	if r.GPC != nil && r.GPC.Required && r.GPC.From.IsZero() {
		return fmt.Errorf("regime %q: a required GPC needs its from date", r.ID)
	}
	for _, route := range r.ComplaintRoutes {
		if route.Name == "" || !strings.HasPrefix(route.URL, "https://") {
			return fmt.Errorf("regime %q: complaint routes need a name and an https URL", r.ID)
		}
	}
	return nil
}

// InForce reports whether the regime applies to a request received on d.
func (r *Regime) InForce(d Date) bool { return !d.Before(r.Effective) }

// NotInForceError is the EINVALID error for a request received on d,
// before r's effective date.
func (r *Regime) NotInForceError(d Date) error {
	return Errorf(EINVALID, "%s is in force from %s; a request received on %s does not fall under it", r.ID, r.Effective, d)
}

// RequiresGPC reports whether, on day d, the regime requires treating a
// universal opt-out signal (Sec-GPC: 1) as an opt-out.
func (r *Regime) RequiresGPC(d Date) bool {
	return r.GPC != nil && r.GPC.Required && r.InForce(d) && !d.Before(r.GPC.From)
}

// AppealWindowDays returns how many calendar days the consumer has to
// appeal a refusal, given the organisation's configured window for laws
// that say "a reasonable period" (orgDays; 0 means
// DefaultAppealWindowDays), and false when the regime gives no appeal.
func (r *Regime) AppealWindowDays(orgDays int) (int, bool) {
	if r.Appeal == nil {
		return 0, false
	}
	if w := r.Appeal.Window; w != nil && w.Days > 0 && w.Unit == UnitCalendar {
		return w.Days, true
	}
	if orgDays > 0 {
		return orgDays, true
	}
	return DefaultAppealWindowDays, true
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
// the requester for at least one reason.
func (r *Regime) PausesClock() bool { return r.Pause != nil }

// PausesFor reports whether the regime stops the clock while waiting for
// an answer asked for the given reason (one of InfoReasons).
func (r *Regime) PausesFor(reason string) bool {
	if r.Pause == nil {
		return false
	}
	for _, p := range r.Pause.Reasons {
		if p == reason {
			return true
		}
	}
	return false
}

// AppealDates are the dates of one appeal: when it arrived, when the
// answer is due, and the latest answer date after the regime's appeal
// extension (zero when the law allows none).
type AppealDates struct {
	Received    Date
	Due         Date
	ExtendedDue Date
	Ledger      []LedgerEntry
}

// AppealDue works out when the answer to an appeal received on received
// is due under r, counted in calendar c (nil: the regime's default). The
// period runs from receipt of the appeal, not of the request. Errors:
// EINVALID when r gives no appeal right or received is zero.
func AppealDue(r *Regime, c *Calendar, received Date) (AppealDates, error) {
	if r == nil {
		return AppealDates{}, Errorf(EINVALID, "regime is required")
	}
	if r.Appeal == nil {
		return AppealDates{}, Errorf(EINVALID, "%s gives no right to appeal a refusal", r.ID)
	}
	if received.IsZero() {
		return AppealDates{}, Errorf(EINVALID, "appeal received date is required")
	}
	if c == nil {
		var err error
		if c, err = LookupCalendar(r.Calendar); err != nil {
			return AppealDates{}, err
		}
	}
	a := r.Appeal
	counter := periodCounter{cal: c, monthRule: r.MonthRule}
	d := AppealDates{Received: received}
	d.Ledger = append(d.Ledger, LedgerEntry{What: LedgerAppealReceived, Date: received,
		Rule: fmt.Sprintf("appeal received on %s; the answer period runs from receipt of the appeal", received.Human())})
	due, how := counter.add(received, a.Answer)
	d.Due = due
	d.Ledger = append(d.Ledger, LedgerEntry{What: LedgerAppealDue, Date: due, Rule: a.Rule + ": " + how})
	if ext := a.Extension; ext != nil {
		ed, how := counter.add(received, ext.Total)
		d.ExtendedDue = ed
		d.Ledger = append(d.Ledger, LedgerEntry{What: LedgerAppealExtendedDue, Date: ed,
			Rule: fmt.Sprintf("%s: at most %s from receipt of the appeal: %s", ext.Rule, ext.Total, how)})
	}
	return d, nil
}
