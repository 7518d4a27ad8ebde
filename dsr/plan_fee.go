package dsr

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Reasons for asking a fee. Which of them a regime allows is regime data
// (Fees.Reasons in regimes.json).
const (
	FeeFurtherCopies        = "further_copies"          // UK GDPR Art. 15(3): further copies of the data
	FeeManifestlyUnfounded  = "manifestly_unfounded"    // GDPR Art. 12(5)
	FeeExcessive            = "excessive"               // GDPR Art. 12(5), in particular repetitive
	FeeRepeatWithin12Months = "repeat_within_12_months" // US state laws: beyond the free requests
)

// FeeReasons lists the reasons an officer may give for a fee.
var FeeReasons = []string{FeeFurtherCopies, FeeManifestlyUnfounded, FeeExcessive, FeeRepeatWithin12Months}

var feeReasonWords = map[string]string{
	FeeFurtherCopies:        "further copies of your personal data",
	FeeManifestlyUnfounded:  "the request is manifestly unfounded",
	FeeExcessive:            "the request is excessive",
	FeeRepeatWithin12Months: "a repeat request within 12 months, beyond the free requests the law gives",
}

// FeeReasonWords is reason in words for mails and pages.
func FeeReasonWords(reason string) string {
	if w, ok := feeReasonWords[reason]; ok {
		return w
	}
	return reason
}

func validFeeReason(s string) bool {
	_, ok := feeReasonWords[s]
	return ok
}

// Fee is a fee a request waits for: Amount is a decimal string with at
// most two decimals ("10", "12.50"), Currency an ISO 4217 code.
type Fee struct {
	Amount      string
	Currency    string
	Reason      string
	Clock       string // the regime's Fees.Clock when it was asked
	RequestedAt time.Time
}

// FeeUpdate is a Change's fee: Awaited is the fee now awaited, nil once
// it is paid or waived.
type FeeUpdate struct {
	Awaited *Fee
}

var (
	feeAmount   = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,2})?$`)
	feeCurrency = regexp.MustCompile(`^[A-Z]{3}$`)
)

// PlanRequestFee asks the requester for a fee (amount, currency, reason
// one of FeeReasons) where the request's regime allows that reason
// (Fees.Reasons): the request waits for the requester (awaiting_requester
// with the fee stored) and the clock follows the regime's Fees.Clock:
// restart and pause stop it from now (ledger entry), run leaves it
// running. The subject and agent are mailed the amount, the reason in
// words and how to pay (howToPay: the organisation's contact). Errors:
// EINVALID with field errors amount, currency and reason; ECONFLICT when
// the regime allows no fee for the reason (with its rule), when a fee is
// already awaited, or when the status does not allow it.
func PlanRequestFee(org *Config, r *Request, actor, amount, currency, reason, howToPay string, now time.Time) (Change, error) {
	amount, currency, reason = strings.TrimSpace(amount), strings.ToUpper(strings.TrimSpace(currency)), strings.TrimSpace(reason)
	fe := FieldErrors{}
	if !feeAmount.MatchString(amount) || strings.Trim(strings.ReplaceAll(amount, ".", ""), "0") == "" {
		fe.Add("amount", "Give an amount above zero with at most two decimals, e.g. 10 or 12.50.")
	}
	if !feeCurrency.MatchString(currency) {
		fe.Add("currency", "Give the ISO 4217 currency code: three letters, e.g. GBP, EUR, USD.")
	}
	if !validFeeReason(reason) {
		fe.Add("reason", "Choose one of: "+strings.Join(FeeReasons, ", ")+".")
	}
	if len(fe) > 0 {
		return Change{}, &Error{Code: EINVALID, Message: "Say how much, in which currency and why.", Fields: fe}
	}
	amount = normalAmount(amount)
	reg, err := LookupRegime(r.Regime)
	if err != nil {
		return Change{}, err
	}
	if !reg.Fees.Allows(reason) {
		rule := "no fee"
		if reg.Fees != nil {
			rule = reg.Fees.Rule
		}
		return Change{}, &Error{Code: ECONFLICT, Message: fmt.Sprintf("%s does not allow a fee for %s.", reg.Short, FeeReasonWords(reason)), Rule: rule}
	}
	if r.Fee != nil {
		return Change{}, &Error{Code: ECONFLICT, Message: fmt.Sprintf("A fee of %s %s is already awaited; mark it paid or waived first.", r.Fee.Amount, r.Fee.Currency), Rule: reg.Fees.Rule}
	}
	if err := r.Status.Transition(StatusAwaitingRequester); err != nil {
		return Change{}, err
	}
	fee := &Fee{Amount: amount, Currency: currency, Reason: reason, Clock: reg.Fees.Clock, RequestedAt: now}
	c := Change{To: StatusAwaitingRequester, Fee: &FeeUpdate{Awaited: fee}}
	clock := "running"
	if fee.Clock != FeeClockRun && r.PausedSince == nil {
		clock = "paused"
		c.PauseFrom = &now
		c.Ledger = []LedgerEntry{{What: LedgerPaused, Date: DateIn(now, org.Location()),
			Rule: fmt.Sprintf("Fee of %s %s asked (%s): %s.", amount, currency, FeeReasonWords(reason), reg.Fees.Rule)}}
	}
	c.Events = []NewEvent{{Type: EventFeeRequested, Actor: actor, Public: true,
		Data: map[string]string{"amount": amount, "currency": currency, "reason": reason, "clock": clock}}}
	note := fmt.Sprintf("Fee: %s %s\nWhy: %s\nHow to pay: %s", amount, currency, FeeReasonWords(reason), howToPay)
	c.Messages = MailAll(c.ApplyTo(r, now), MailFeeRequested, now, Message{Note: note, ClockPaused: clock == "paused"})
	return c, nil
}

// PlanFeePaid records that the awaited fee was received and continues the
// request (in_progress). The clock follows the rule the fee was asked
// under: restart works every date out again from the day of payment (UK:
// the time limit starts when the fee is received); pause moves the dates
// by the days waited (ResumeClock); run leaves them. Moved dates restart
// the reminder chain. Errors: ECONFLICT when no fee is awaited or the
// status does not allow it.
func PlanFeePaid(org *Config, r *Request, actor string, now time.Time) (Change, error) {
	return planFeeEnd(org, r, actor, true, now)
}

// PlanFeeWaived records that the officer waived the awaited fee and
// continues the request (in_progress). The days spent waiting do not
// count (the dates move by them, as after a pause), whatever the rule:
// the requester did nothing late, and a waiver is no payment from which a
// new period could start. Errors: as PlanFeePaid.
func PlanFeeWaived(org *Config, r *Request, actor string, now time.Time) (Change, error) {
	return planFeeEnd(org, r, actor, false, now)
}

func planFeeEnd(org *Config, r *Request, actor string, paid bool, now time.Time) (Change, error) {
	if r.Fee == nil {
		return Change{}, &Error{Code: ECONFLICT, Message: "No fee is awaited for this request.", Rule: "request-fee first"}
	}
	c := Change{Fee: &FeeUpdate{}}
	if r.Status != StatusInProgress {
		// in_progress already when the requester answered meanwhile
		// (PlanAnswer ends any pause): the fee still ends here.
		if err := r.Status.Transition(StatusInProgress); err != nil {
			return Change{}, err
		}
		c.To = StatusInProgress
	}
	reg, err := LookupRegime(r.Regime)
	if err != nil {
		return Change{}, err
	}
	cal, err := LookupCalendar(r.Calendar)
	if err != nil {
		return Change{}, err
	}
	loc := org.Location()
	today := DateIn(now, loc)
	typ, mail := EventFeeWaived, MailFeeWaived
	if paid {
		typ, mail = EventFeePaid, MailFeePaid
	}
	data := map[string]string{"amount": r.Fee.Amount, "currency": r.Fee.Currency, "reason": r.Fee.Reason}
	restart := paid && r.Fee.Clock == FeeClockRestart
	if restart || (r.PausedSince != nil && r.Fee.Clock != FeeClockRun) {
		rule := "fee"
		if reg.Fees != nil {
			rule = reg.Fees.Rule
		}
		if restart {
			d, err := org.Deadlines(reg, r.Kind, now)
			if err != nil {
				return Change{}, err
			}
			c.Due = &DueChange{LegalDue: d.LegalDue, Due: d.Due, ExtendedDue: d.ExtendedDue, PausedDays: r.PausedDays, Extensions: r.Extensions}
			c.Ledger = append([]LedgerEntry{{What: LedgerResumed, Date: today,
				Rule: fmt.Sprintf("%s: fee received on %s, every period counts from that day", rule, today.Human())}}, d.Ledger...)
			if r.Extensions > 0 && reg.Extension != nil {
				// An extension granted before the fee arrived still
				// stands: ICO, "three months from the original start
				// date", and the start is now the day of payment
				// (regimes.md §4.2–4.3), so the extended date is the
				// new start's maximum, not the old extended date.
				c.Due.LegalDue, c.Due.Due = d.ExtendedDue, d.ExtendedDue
				c.Ledger = append(c.Ledger, LedgerEntry{What: LedgerExtended, Date: d.ExtendedDue,
					Rule: fmt.Sprintf("%s; the extension granted earlier is kept and counts from the new start, %s (fee received)", reg.Extension.Rule, today.Human())})
			}
		} else {
			shadow := *reg
			shadow.Pause = &Pause{Rule: rule, Reasons: []string{InfoFee}}
			res := ResumeClock(&shadow, cal, r, DateIn(*r.PausedSince, loc), today)
			c.Due = &DueChange{LegalDue: res.LegalDue, Due: res.Due, ExtendedDue: res.ExtendedDue,
				PausedDays: r.PausedDays + res.PausedDays, Extensions: r.Extensions}
			c.Ledger = res.Ledger
		}
		if c.Due.Due != r.DueOn || c.Due.LegalDue != r.LegalDue {
			c.Jobs = []Job{{Kind: JobDeadlineReminders}}
		}
		data["due"] = c.Due.Due.String()
	}
	c.Events = []NewEvent{{Type: typ, Actor: actor, Public: true, Data: data}}
	note := fmt.Sprintf("Fee: %s %s\nWhy it was asked: %s", r.Fee.Amount, r.Fee.Currency, FeeReasonWords(r.Fee.Reason))
	c.Messages = MailAll(c.ApplyTo(r, now), mail, now, Message{Note: note})
	return c, nil
}

// normalAmount writes a checked amount with two decimals and no leading
// zeros ("010.5" → "10.50"), as it is stored and shown.
func normalAmount(a string) string {
	whole, frac, _ := strings.Cut(a, ".")
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	return whole + "." + (frac + "00")[:2]
}
