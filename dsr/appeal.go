package dsr

import (
	"fmt"
	"strings"
	"time"
)

// Appeal outcomes.
const (
	// AppealReversed grants the appeal: the request reopens with the
	// remaining work.
	AppealReversed = "reversed"
	// AppealUpheld denies the appeal: the refusal stands, with written
	// reasons and the complaint route.
	AppealUpheld = "upheld"
)

// Appeal channels: how an appeal arrived.
const (
	AppealByStatusPage = "status_page"
	AppealByOfficer    = "officer"
	AppealByEmail      = "email"
)

// Mail events of appeals: one template each under templates/mail/<locale>/.
const (
	MailAppealReceived        = "appeal_received"
	MailAppealExtended        = "appeal_extended"
	MailAppealDecidedReversed = "appeal_decided_reversed"
	MailAppealDecidedUpheld   = "appeal_decided_upheld"
)

// Ledger entries of appeals, besides LedgerAppealReceived, LedgerAppealDue
// and LedgerAppealExtendedDue.
const (
	LedgerAppealLate     = "appeal_late"
	LedgerAppealExtended = "appeal_extended"
	LedgerAppealReopened = "appeal_reopened"
)

// MaxAppealReason bounds the text of an appeal, in bytes.
const MaxAppealReason = 10000

// AppealCase is one appeal of a refused request: its own case, with its
// own answer date and reviewer. The request's due date follows the
// appeal's while it is appealed (so the officers' reminder chain and the
// overdue escalation run for it); RequestDue and RefusedOn keep what the
// request had when it was refused, for a reversal.
type AppealCase struct {
	ID         string
	RequestID  string
	ReceivedAt time.Time
	ReceivedOn Date
	Channel    string
	Reason     string
	// Late is set when the appeal arrived after the appeal window; it is
	// recorded and answered all the same.
	Late bool
	// DueOn is when the answer is due; MaxDue the latest date the
	// regime's appeal extension allows (zero: none).
	DueOn, MaxDue Date
	Extended      bool
	RefuserID     string
	ReviewerID    string
	Outcome       string
	Explanation   string
	DecidedAt     *time.Time
	// AttachmentID is the optional document the requester attached.
	AttachmentID string
	RefusedOn    Date
	RequestDue   Date
	// From is the status the request had when it was appealed, and
	// returns to when the appeal is upheld: StatusDenied, or
	// StatusCompleted for a completion in part ("" reads as denied, as
	// for appeals stored before partial completions could be appealed).
	From Status
}

// Appealable reports whether a request in status st, completed with
// outcome (its Result; "" when not completed), is a decision that may be
// appealed: a refusal, or a completion in part. Whether the law gives an
// appeal right is the regime's to say. Errors: ECONFLICT naming the rule.
func Appealable(st Status, outcome string) error {
	switch {
	case st == StatusDenied:
		return nil
	case st == StatusCompleted && outcome == OutcomePartial:
		return nil
	case st == StatusCompleted:
		what := "in full"
		if outcome == OutcomeNoData {
			what = "with no data held"
		}
		return &Error{Code: ECONFLICT, Message: "The request was completed " + what + "; only a refusal or a completion in part can be appealed.",
			Rule: "an appeal is of a refusal or of a completion in part (outcome partial)"}
	}
	return &Error{Code: ECONFLICT, Message: "Only a refused request, or one completed in part, can be appealed; this one is " + string(st) + ".",
		Rule: "an appeal is of a refusal or of a completion in part (outcome partial)"}
}

// Reviewer is a user who may review an appeal.
type Reviewer struct {
	ID, Email string
}

// ChooseReviewer picks the appeal's reviewer from the active officers and
// admins (in their list order): the organisation's named reviewer
// (Appeals.ReviewerEmail) when that user is active and did not refuse,
// else the first who is not the refuser. Errors: ECONFLICT when nobody
// but the refuser can review.
func ChooseReviewer(org *Config, refuser string, users []Reviewer) (string, error) {
	if want := strings.TrimSpace(org.Appeals.ReviewerEmail); want != "" {
		for _, u := range users {
			if strings.EqualFold(u.Email, want) && u.ID != refuser {
				return u.ID, nil
			}
		}
	}
	for _, u := range users {
		if u.ID != refuser {
			return u.ID, nil
		}
	}
	return "", &Error{Code: ECONFLICT, Message: "No officer other than the one who refused can review the appeal; add an officer first.",
		Rule: "an appeal is reviewed by someone other than the officer who refused"}
}

// AppealNotice is what a refusal's mail tells the requester to do next
// under reg, and whether it carries the appeal form link: how and until
// when to appeal where the law gives an appeal (window from the refusal
// on refused, the organisation's window where the law says "a reasonable
// period"), else the complaint routes (CCPA: the CPPA and the Attorney
// General), else "".
func AppealNotice(org *Config, reg *Regime, refused Date) (string, bool) {
	if reg == nil {
		return "", false
	}
	if days, ok := reg.AppealWindowDays(org.Appeals.WindowDays); ok {
		return fmt.Sprintf("You may appeal this decision until %s (%d days, %s): use the link below, tell us why you disagree and, if you like, attach a document; or reply to this email. Your appeal goes to someone other than the person who decided.",
			refused.AddDays(days).Long(), days, reg.Short), true
	}
	if len(reg.ComplaintRoutes) > 0 {
		return reg.Short + " gives no appeal to us; you may complain to " + routesText(reg.ComplaintRoutes) + ".", false
	}
	return "", false
}

// AppealNoticeByPost is AppealNotice for a refusal sent as a letter to
// a requester without an email address: how and until when to appeal by
// post to the organisation's postal address (Organisation.Address, else
// its contact email), quoting r's reference; where the law gives no
// appeal, AppealNotice's complaint routes.
func AppealNoticeByPost(org *Config, reg *Regime, r *Request, refused Date) string {
	text, _ := AppealNotice(org, reg, refused)
	days, ok := reg.AppealWindowDays(org.Appeals.WindowDays)
	if text == "" || !ok {
		return text
	}
	return fmt.Sprintf("You may appeal this decision until %s (%d days, %s): %s, quoting reference %s, and tell us why you disagree; you may enclose documents. Your appeal goes to someone other than the person who decided.",
		refused.AddDays(days).Long(), days, reg.Short, org.WriteToUs(), r.RefString())
}

// WriteToUs says where a requester writes to by post: "write to us at
// <address>" (Organisation.Address), else "write to us at <contact
// email>" when no postal address is configured.
func (c *Config) WriteToUs() string {
	if a := strings.Join(strings.Fields(strings.ReplaceAll(c.Organisation.Address, "\n", ", ")), " "); a != "" {
		return "write to us at " + c.Organisation.Name + ", " + a
	}
	return "write to us at " + c.Organisation.ContactEmail
}

func routesText(rs []ComplaintRoute) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Name + " (" + r.URL + ")"
	}
	return strings.Join(parts, " or ")
}

// WithPartialAppealNotice is WithAppealNotice for a completion c of r
// with outcome o: a completion in part under a law with an appeal right
// is a refusal of the rest, so its mail says how and until when to appeal
// and carries the appeal link. Any other completion, or a law without an
// appeal right (its complaint routes are in the completion mail already),
// leaves c as it is.
func WithPartialAppealNotice(org *Config, reg *Regime, r *Request, o Outcome, c Change, now time.Time) Change {
	if o.Result != OutcomePartial || reg == nil {
		return c
	}
	if _, ok := reg.AppealWindowDays(org.Appeals.WindowDays); !ok {
		return c
	}
	return WithAppealNotice(org, reg, r, c, now)
}

// WithAppealNotice adds AppealNotice to the messages of a refusal c of r
// under reg, refused at now, and keeps the refusal mail's own status link
// alive for the appeal window (and StatusLinkGrace after it): the links
// issued before still end StatusLinkGrace after the close.
func WithAppealNotice(org *Config, reg *Regime, r *Request, c Change, now time.Time) Change {
	refused := DateIn(now, org.Location())
	text, link := AppealNotice(org, reg, refused)
	if text == "" {
		return c
	}
	days, _ := reg.AppealWindowDays(org.Appeals.WindowDays)
	for i := range c.Messages {
		m := &c.Messages[i]
		m.Appeal, m.AppealLink = text, link
		if m.Letter {
			// Paper has no link to use: the letter says where to write.
			m.Appeal, m.AppealLink = AppealNoticeByPost(org, reg, r, refused), false
			continue
		}
		if link {
			if until := now.Add(time.Duration(days)*24*time.Hour + StatusLinkGrace); m.Status.Expires.Before(until) {
				m.Status.Expires = until
			}
		}
	}
	return c
}

// MentionsAppeal reports whether a reply to a refusal asks to appeal it:
// it says "appeal" (any case), as the refusal mail tells the requester to.
func MentionsAppeal(text string) bool {
	return strings.Contains(strings.ToLower(text), "appeal")
}

// CheckNotAppealed refuses an ordinary refusal of a request under appeal:
// the appeal is answered by PlanAppealDecide (upheld), by its reviewer,
// so that the appeal is never left undecided. Errors: ECONFLICT.
func CheckNotAppealed(r *Request) error {
	if r.Status == StatusAppealed {
		return &Error{Code: ECONFLICT, Message: "The request is under appeal: decide the appeal (appeal-decide) instead.",
			Rule: "an appealed refusal is upheld or reversed by the appeal's reviewer"}
	}
	return nil
}
