package dsr

import (
	"fmt"
	"strings"
)

// Outcomes of a completed request.
const (
	OutcomeFull    = "full"    // everything asked for was done
	OutcomePartial = "partial" // done in part: some data was kept, each with its legal basis
	OutcomeNoData  = "no_data" // the organisation holds no data about the person
)

// Outcomes lists the outcomes an officer may record.
var Outcomes = []string{OutcomeFull, OutcomePartial, OutcomeNoData}

// Kept is data a partial outcome kept, and the legal basis for keeping
// it: {"data": "invoices", "basis": "7 years, Dutch tax law (AWR art. 52)"}.
type Kept struct {
	Data  string `json:"data"`
	Basis string `json:"basis"`
}

// Outcome is what a completion achieved: Result one of Outcomes, and for
// OutcomePartial what was kept.
type Outcome struct {
	Result string `json:"outcome"`
	Kept   []Kept `json:"kept"`
}

// Label says the outcome in words for pages.
func (o Outcome) Label() string {
	switch o.Result {
	case OutcomePartial:
		return "Completed in part"
	case OutcomeNoData:
		return "Completed: we hold no personal data about you"
	case OutcomeFull:
		return "Completed in full"
	}
	return ""
}

// ParseOutcome checks an officer's outcome and kept rows: result ""
// means OutcomeFull (what completing meant before outcomes existed); rows
// with neither data nor basis are blank form rows and are dropped; a
// partial outcome needs at least one row, every row needs both its data
// and its basis, and only a partial outcome keeps anything. Errors:
// EINVALID with field errors "outcome" and "kept".
func ParseOutcome(result string, kept []Kept) (Outcome, error) {
	o := Outcome{Result: strings.TrimSpace(result)}
	if o.Result == "" {
		o.Result = OutcomeFull
	}
	fe := FieldErrors{}
	valid := false
	for _, v := range Outcomes {
		valid = valid || v == o.Result
	}
	if !valid {
		fe.Add("outcome", "Choose one of: "+strings.Join(Outcomes, ", ")+".")
	}
	for i, k := range kept {
		k.Data, k.Basis = strings.TrimSpace(k.Data), strings.TrimSpace(k.Basis)
		switch {
		case k.Data == "" && k.Basis == "":
			continue
		case k.Data == "":
			fe.Add("kept", fmt.Sprintf("Row %d: say what data was kept.", i+1))
		case k.Basis == "":
			fe.Add("kept", fmt.Sprintf("Row %d: give the legal basis for keeping %s.", i+1, k.Data))
		}
		o.Kept = append(o.Kept, k)
	}
	if valid && o.Result == OutcomePartial && len(o.Kept) == 0 && fe["kept"] == "" {
		fe.Add("kept", "A partial outcome lists what was kept and the legal basis for keeping it.")
	}
	if valid && o.Result != OutcomePartial && len(o.Kept) > 0 {
		fe.Add("kept", "Only a partial outcome keeps data; choose partial or leave the kept rows empty.")
	}
	if err := fe.Err(); err != nil {
		return Outcome{}, err
	}
	return o, nil
}
