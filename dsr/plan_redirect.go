package dsr

import (
	"strings"
	"time"
)

// MailRedirected is the mail event answering a request about data one of
// the organisation's clients controls: the organisation's instructions.
const MailRedirected = "redirected"

// MaxClientRunes is the longest client name a requester may give on the
// processor path.
const MaxClientRunes = 200

// RedirectInput is what a person gives on the processor path ("this is
// about data a client of ours controls"): where to send the instructions
// and, optionally, which client they mean.
type RedirectInput struct {
	Email  string
	Client string
}

// Redirect is a request the organisation answered by pointing to its
// client, the controller: recorded as redirected, not denied, with the
// instructions mailed to the requester.
type Redirect struct {
	ID           string
	ReceivedAt   time.Time
	Email        string
	Client       string
	Instructions string
}

// PlanRedirect decides the answer to a request on the processor path,
// received at now. Errors: ENOTFOUND when the organisation has no
// processor notice (the path does not exist for it); EINVALID with
// Fields "processor.email" (required, an email address) and
// "processor.client" (a name: no control characters, at most
// MaxClientRunes).
func PlanRedirect(cfg *Config, in RedirectInput, now time.Time) (Redirect, error) {
	if cfg.Processor == nil {
		return Redirect{}, Errorf(ENOTFOUND, "%s does not process data for clients.", cfg.Organisation.Name)
	}
	email, client := strings.TrimSpace(in.Email), strings.TrimSpace(in.Client)
	fe := FieldErrors{}
	switch {
	case email == "":
		fe.Add("processor.email", "Enter your email address, so we can send you what to do.")
	case !ValidEmail(email):
		fe.Add("processor.email", "Enter an email address like name@example.com.")
	}
	if msg := NameProblem(client); msg != "" {
		fe.Add("processor.client", msg)
	}
	if err := fe.Err(); err != nil {
		return Redirect{}, err
	}
	return Redirect{ID: NewID(now), ReceivedAt: now, Email: email, Client: client, Instructions: strings.TrimSpace(cfg.Processor.Instructions)}, nil
}
