package dsr

import "fmt"

// Ledger entries written after intake.
const (
	LedgerPaused   = "paused"
	LedgerResumed  = "resumed"
	LedgerExtended = "extended"
)

// Resumption is the outcome of ending a clock pause.
type Resumption struct {
	PausedDays  int
	LegalDue    Date
	Due         Date
	ExtendedDue Date
	Ledger      []LedgerEntry
}

// ResumeClock works out the dates of req after a pause that ran from
// pausedOn to resumedOn (the day the answer arrived): the days from the
// day of asking to the day of the answer do not count, so every open date
// moves by that many days; for month-based regimes a date that lands on a
// weekend or holiday moves on to the next working day, as at intake.
func ResumeClock(r *Regime, cal *Calendar, req *Request, pausedOn, resumedOn Date) Resumption {
	days := pausedOn.DaysUntil(resumedOn)
	if days < 0 {
		days = 0
	}
	res := Resumption{PausedDays: days}
	res.Ledger = append(res.Ledger, LedgerEntry{What: LedgerResumed, Date: resumedOn,
		Rule: fmt.Sprintf("%s: clock stopped from %s to %s (%d days do not count)", r.Pause.Rule, pausedOn.Human(), resumedOn.Human(), days)})
	pc := periodCounter{cal: cal, monthRule: r.MonthRule, regime: r}
	shift := func(what string, d Date) Date {
		if d.IsZero() || days == 0 {
			return d
		}
		moved := d.AddDays(days)
		how := fmt.Sprintf("%s + %d paused days = %s", d.Human(), days, moved.Human())
		if r.Response.Months > 0 {
			var why string
			if moved, why = pc.rollForward(moved); why != "" {
				how += "; " + why
			}
		}
		res.Ledger = append(res.Ledger, LedgerEntry{What: what, Date: moved, Rule: how})
		return moved
	}
	res.LegalDue = shift(LedgerLegalDue, req.LegalDue)
	res.Due = shift(LedgerDue, req.DueOn)
	res.ExtendedDue = shift(LedgerExtendedDue, req.ExtendedDue)
	return res
}

// CheckExtension says whether req may be extended on day today under r.
// Errors: ECONFLICT naming the rule that refuses it.
func CheckExtension(r *Regime, req *Request, today Date) error {
	refuse := func(msg string) error {
		rule := "no extension"
		if r.Extension != nil {
			rule = r.Extension.Rule
		}
		return &Error{Code: ECONFLICT, Message: msg, Rule: rule}
	}
	_, extendable, _ := r.PeriodFor(req.Kind)
	switch {
	case req.Status.Closed():
		return refuse("The request is closed.")
	case req.Status == StatusPendingTriage:
		return refuse("Triage the request first: its kind and law are not confirmed yet.")
	case !extendable || req.ExtendedDue.IsZero():
		return refuse(fmt.Sprintf("%s allows no extension for %s requests.", r.Short, req.Kind.Short()))
	case req.Extensions >= r.Extension.MaxTimes:
		return refuse(fmt.Sprintf("%s allows the extension only %d time(s); it was already extended.", r.Short, r.Extension.MaxTimes))
	case today.After(req.DueOn):
		return refuse(fmt.Sprintf("The due date (%s) has passed; an extension must be decided before it.", req.DueOn.Human()))
	case !req.ExtensionNoticeBy.IsZero() && today.After(req.ExtensionNoticeBy):
		return refuse(fmt.Sprintf("Notice of an extension had to reach the requester by %s.", req.ExtensionNoticeBy.Human()))
	}
	return nil
}

// ExtensionResult is the outcome of an accepted extension.
type ExtensionResult struct {
	Due    Date
	Ledger []LedgerEntry
}

// Extend returns the new due date of req after an extension: the
// regime's maximum counted from the original start (GDPR/UK: three months
// from receipt; CCPA: 90 days), which ExtendedDue already holds, moved by
// any paused days. Call CheckExtension first.
func Extend(r *Regime, req *Request, today Date, reason string) ExtensionResult {
	return ExtensionResult{Due: req.ExtendedDue, Ledger: []LedgerEntry{{What: LedgerExtended, Date: req.ExtendedDue,
		Rule: fmt.Sprintf("%s; extended on %s with notice to the requester; reason: %s", r.Extension.Rule, today.Human(), reason)}}}
}
