package dsr

import (
	"fmt"
	"strings"
	"time"
)

// What a ledger entry records. Every date of a request is one of these.
const (
	LedgerReceived          = "received"
	LedgerAckDue            = "ack_due"
	LedgerAckSafeTarget     = "ack_safe_target"
	LedgerLegalDue          = "legal_due"
	LedgerPolicyDue         = "policy_due"
	LedgerDue               = "due"
	LedgerExtendedDue       = "extended_due"
	LedgerExtensionNoticeBy = "extension_notice_by"
	LedgerAppealReceived    = "appeal_received"
	LedgerAppealDue         = "appeal_due"
	LedgerAppealExtendedDue = "appeal_extended_due"
	// LedgerVoluntary records that the organisation offers the kind
	// though the regime's law does not give it (Config.Voluntary).
	LedgerVoluntary = "voluntary"
	// LedgerPromiseBroken records an extension that breaks the
	// organisation's own promise, overridden by an officer.
	LedgerPromiseBroken = "promise_broken"
)

// LedgerEntry is one date of a request with the rule that produced it, in
// words an officer or an auditor can check by hand.
type LedgerEntry struct {
	What string `json:"what"`
	Date Date   `json:"date"`
	Rule string `json:"rule"`
}

// DeadlineInput is what ComputeDeadlines needs.
type DeadlineInput struct {
	Regime   *Regime
	Kind     Kind
	Received Date
	// Calendar of working days; nil means the regime's default calendar.
	Calendar *Calendar
	// PromiseDays is the organisation's own promise for this kind ("erasure
	// within 14 days"), counted as receipt + N days; 0 means none.
	PromiseDays int
	// PromiseSource says where the promise is made (e.g. "privacy policy").
	PromiseSource string
	// Voluntary, when set, is the organisation's offer of a kind the
	// regime does not cover: the request gets the offer's promised period
	// (as a promise) over the regime's general response period.
	Voluntary *VoluntaryOffer
}

// Deadlines are the dates of one request. Zero Dates do not apply (no
// acknowledgment under the GDPR, no extension for a CCPA opt-out).
type Deadlines struct {
	Regime            string
	Kind              Kind
	Calendar          string
	Received          Date
	AckDue            Date
	LegalDue          Date
	PolicyDue         Date
	Due               Date // the effective due date: the earlier of LegalDue and PolicyDue
	ExtendedDue       Date // the latest legal due date after the maximum extension
	ExtensionNoticeBy Date // last day to notify the requester of an extension
	Ledger            []LedgerEntry
}

// ComputeDeadlines works out every date of a request received on
// in.Received. It is the only place where a due date is computed.
// Errors: EINVALID for a missing regime, an uncovered kind, a zero date or
// a receipt before the regime's effective date.
func ComputeDeadlines(in DeadlineInput) (Deadlines, error) {
	if in.Regime == nil {
		return Deadlines{}, Errorf(EINVALID, "regime is required")
	}
	r := in.Regime
	voluntary := in.Voluntary != nil && !r.Covers(in.Kind)
	if !r.Covers(in.Kind) && !voluntary {
		return Deadlines{}, Errorf(EINVALID, "%s does not cover %s requests (valid: %s)", r.ID, in.Kind, joinKinds(r.Kinds))
	}
	if in.Received.IsZero() {
		return Deadlines{}, Errorf(EINVALID, "received date is required")
	}
	if !r.InForce(in.Received) {
		// A law gives no deadline before it applies; whoever chose the
		// regime (intake, triage) must pick the one in force.
		return Deadlines{}, r.NotInForceError(in.Received)
	}
	c := in.Calendar
	if c == nil {
		var err error
		if c, err = LookupCalendar(r.Calendar); err != nil {
			return Deadlines{}, err
		}
	}
	d := Deadlines{Regime: r.ID, Kind: in.Kind, Calendar: c.Code, Received: in.Received}
	counter := periodCounter{cal: c, monthRule: r.MonthRule, regime: r}
	received := fmt.Sprintf("request received on %s; the clock starts on the day of receipt", in.Received.Human())
	if r.ClockStart == ClockVerifiedReceipt {
		// The engine has one clock start, receipt. Counting from receipt
		// is never later than counting from verification, so the due
		// dates are safe; the note says how to get the statutory date.
		received += " (" + r.ClockStartNote + ")"
	}
	d.add(LedgerReceived, in.Received, received)

	d.ack(counter, r.AckFor(in.Kind))

	period, extendable, rule := r.PeriodFor(in.Kind)
	if voluntary {
		src := in.Voluntary.Source
		if src == "" {
			src = "organisation policy"
		}
		d.add(LedgerVoluntary, in.Received, fmt.Sprintf("offered voluntarily (policy): %s does not give a right of %s; the organisation offers it (%s)", r.Short, in.Kind.Short(), src))
		rule = fmt.Sprintf("offered voluntarily (policy): %s's general response period of %s from receipt applies", r.Short, r.Response)
		if in.Voluntary.Days > 0 && (in.PromiseDays == 0 || in.Voluntary.Days < in.PromiseDays) {
			in.PromiseDays, in.PromiseSource = in.Voluntary.Days, src+" (offered voluntarily)"
		}
	}
	due, how := counter.add(in.Received, period)
	d.LegalDue = due
	d.add(LedgerLegalDue, due, rule+": "+how)

	d.Due = due
	if in.PromiseDays > 0 {
		d.promise(in)
	} else {
		d.add(LedgerDue, due, "no stricter promise of the organisation applies: the legal due date is the due date")
	}
	if extendable {
		d.extension(counter, r.Extension)
	}
	return d, nil
}

func (d *Deadlines) add(what string, date Date, rule string) {
	d.Ledger = append(d.Ledger, LedgerEntry{What: what, Date: date, Rule: rule})
}

func (d *Deadlines) ack(counter periodCounter, ack *Ack) {
	if ack == nil {
		return
	}
	due, how := counter.add(d.Received, ack.Period)
	d.AckDue = due
	d.add(LedgerAckDue, due, ack.Rule+": "+how)
	if ack.Period.Unit == UnitBusiness {
		safe := addBusinessDays(nil, d.Received, ack.Period.Days)
		if safe.Before(due) {
			d.add(LedgerAckSafeTarget, safe, fmt.Sprintf("safe target: %d business days ignoring holidays (the law does not define business day)", ack.Period.Days))
		}
	}
}

func (d *Deadlines) promise(in DeadlineInput) {
	p := in.Received.AddDays(in.PromiseDays)
	d.PolicyDue = p
	src := in.PromiseSource
	if src == "" {
		src = "organisation policy"
	}
	d.add(LedgerPolicyDue, p, fmt.Sprintf("%s: %s within %d days of receipt (%s + %d days); not moved off weekends or holidays", src, in.Kind.Short(), in.PromiseDays, in.Received.Human(), in.PromiseDays))
	if p.Before(d.LegalDue) {
		d.Due = p
		d.add(LedgerDue, p, fmt.Sprintf("the policy promise (%s) is earlier than the legal due date (%s), so it applies", p.Human(), d.LegalDue.Human()))
		return
	}
	d.add(LedgerDue, d.LegalDue, fmt.Sprintf("the legal due date (%s) is not later than the policy promise (%s), so it applies", d.LegalDue.Human(), p.Human()))
}

func (d *Deadlines) extension(counter periodCounter, ext *Extension) {
	due, how := counter.add(d.Received, ext.Total)
	d.ExtendedDue = due
	d.add(LedgerExtendedDue, due, fmt.Sprintf("%s: at most %s from receipt: %s", ext.Rule, ext.Total, how))
	if ext.NoticeWithin.valid() {
		// Notice must reach the requester inside the original period: the
		// last day to send it is the legal due date of that period.
		by, _ := counter.add(d.Received, ext.NoticeWithin)
		d.ExtensionNoticeBy = by
		d.add(LedgerExtensionNoticeBy, by, fmt.Sprintf("an extension must be notified, with reasons, within %s of receipt", ext.NoticeWithin))
	}
}

// periodCounter adds legal periods to dates under one regime's counting
// rules and one calendar.
type periodCounter struct {
	cal       *Calendar
	monthRule string
	regime    *Regime
}

// add returns start + p and the rule in words.
func (pc periodCounter) add(start Date, p Period) (Date, string) {
	switch {
	case p.Months > 0:
		return pc.addMonths(start, p.Months)
	case p.Unit == UnitBusiness:
		return pc.addBusiness(start, p.Days)
	default:
		return pc.addCalendar(start, p.Days)
	}
}

func (pc periodCounter) addMonths(start Date, n int) (Date, string) {
	target := start.AddMonths(n)
	var b strings.Builder
	if pc.monthRule == "uk" {
		b.WriteString("day of receipt is day 1; ")
	} else {
		b.WriteString("Reg. 1182/71: ")
	}
	nominal := NewDate(start.t.Year(), start.t.Month()+monthOf(n), start.t.Day())
	if nominal != target {
		fmt.Fprintf(&b, "%s has no day %d, so the period ends on the last day of the month, %s", target.t.Format("January 2006"), start.t.Day(), target.Human())
	} else {
		fmt.Fprintf(&b, "%s from %s is the same date, %s", Period{Months: n}, start.Human(), target.Human())
	}
	due, moved := pc.rollForward(target)
	if moved != "" {
		b.WriteString("; ")
		b.WriteString(moved)
	}
	return due, b.String()
}

func monthOf(n int) time.Month { return time.Month(n) }

// rollForward moves d to the next working day of the calendar and says why.
func (pc periodCounter) rollForward(d Date) (Date, string) {
	if pc.cal.IsWorkingDay(d) {
		return d, ""
	}
	var why []string
	for !pc.cal.IsWorkingDay(d) {
		why = append(why, fmt.Sprintf("%s is %s", d.Human(), pc.cal.whyNotWorking(d)))
		d = d.AddDays(1)
	}
	return d, fmt.Sprintf("%s (%s) → next working day %s", strings.Join(why, ", "), pc.cal.Code, d.Human())
}

func (pc periodCounter) addCalendar(start Date, n int) (Date, string) {
	due := start.AddDays(n - 1)
	how := fmt.Sprintf("%d calendar days counting the day of receipt (%s) as day 1 → %s", n, start.Human(), due.Human())
	if !pc.cal.IsWorkingDay(due) {
		how += fmt.Sprintf(" (%s; not moved: calendar-day deadlines never roll forward)", pc.cal.whyNotWorking(due))
	}
	if pc.regime != nil && pc.regime.CalendarNote != "" {
		how += "; " + pc.regime.CalendarNote
	}
	return due, how
}

func (pc periodCounter) addBusiness(start Date, n int) (Date, string) {
	due := addBusinessDays(pc.cal, start, n)
	var skipped []string
	for d := start.AddDays(1); !d.After(due); d = d.AddDays(1) {
		if name := pc.cal.HolidayName(d); name != "" && d.Weekday() >= 1 && d.Weekday() <= 5 {
			skipped = append(skipped, fmt.Sprintf("%s %s", name, d.Human()))
		}
	}
	how := fmt.Sprintf("%d business days (Monday to Friday) counted from the day after receipt", n)
	if len(skipped) > 0 {
		how += fmt.Sprintf(", skipping %s (%s)", strings.Join(skipped, ", "), pc.cal.Code)
	}
	return due, how + " → " + due.Human()
}

// addBusinessDays counts n working days of c from the day after start. A
// nil calendar skips weekends only.
func addBusinessDays(c *Calendar, start Date, n int) Date {
	d := start
	for n > 0 {
		d = d.AddDays(1)
		if c.IsWorkingDay(d) {
			n--
		}
	}
	return d
}

// ClockStopped reports, for a request whose clock is stopped (waiting for
// an answer the regime lets it wait for), the day it stopped in loc and
// how many days of the period remained then, counted to the due date; ok
// is false when the clock runs.
func ClockStopped(r *Request, loc *time.Location) (since Date, remain int, ok bool) {
	if r.PausedSince == nil || r.Status.Closed() {
		return Date{}, 0, false
	}
	since = DateIn(*r.PausedSince, loc)
	return since, since.DaysUntil(r.DueOn), true
}

// ClockStoppedText is the countdown of a stopped clock in words, "clock
// stopped since 3 Dec 2026, 28 days remain", or "" when the clock runs.
func ClockStoppedText(r *Request, loc *time.Location) string {
	since, n, ok := ClockStopped(r, loc)
	if !ok {
		return ""
	}
	days := fmt.Sprintf("%d days remain", n)
	if n == 1 {
		days = "1 day remains"
	}
	return "clock stopped since " + since.Human() + ", " + days
}
