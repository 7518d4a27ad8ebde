package dsr

import "time"

// PlanLetterPosted records that an officer (actor) posted the letter
// messageID, which told the requester about mailEvent: one internal event,
// nothing else changes (a letter is posted by hand, so the engine cannot
// know the day otherwise). Errors: ECONFLICT when the request has no
// postal address to post to. now is unused today (the event takes the
// engine's time) and kept so every planner has the same shape.
func PlanLetterPosted(r *Request, actor, messageID, mailEvent string, now time.Time) (Change, error) {
	_ = now
	if r.Subject.PostalAddress == "" {
		return Change{}, &Error{Code: ECONFLICT, Message: "This request has no postal address.", Rule: "letters go to the postal address given at entry"}
	}
	return Change{Events: []NewEvent{{Type: EventLetterPosted, Actor: actor,
		Data: map[string]string{"message": messageID, "letter": mailEvent}}}}, nil
}
