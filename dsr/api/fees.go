package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// feeAmount is a request-fee amount as the admin API takes it: a JSON
// decimal string ("12.50") or number (12.5), kept as the decimal text so
// that no float rounding reaches the stored amount. dsr.PlanRequestFee
// checks the value.
type feeAmount string

// UnmarshalJSON accepts a string or a number; anything else is a type
// error naming the field (422).
func (a *feeAmount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = feeAmount(s)
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	n, ok := v.(json.Number)
	if !ok {
		return &json.UnmarshalTypeError{Value: "non-number", Type: reflect.TypeOf("")}
	}
	*a = feeAmount(n.String())
	return nil
}

// repeatWarning says that the same requester email filed the same kind
// in the 12 months before this request, with the regime's free-request
// limit.
type repeatWarning struct {
	ID, Ref    string
	ReceivedOn dsr.Date
	Text       string
}

// fillFees adds the awaited fee and the repeat warning to d. Errors: the
// database's.
func (s *Server) fillFees(ctx context.Context, d *requestDetail) error {
	r := d.Request
	fee, err := s.engine.FeeOf(ctx, r.ID)
	if err != nil {
		return err
	}
	if !r.Status.Closed() {
		// A request closed while a fee was awaited (completed, denied,
		// withdrawn) awaits nothing any more.
		d.Fee = fee
	}
	rp, err := s.engine.RepeatOf(ctx, r.ID)
	if err != nil || rp == nil {
		return err
	}
	w := &repeatWarning{ID: rp.ID, Ref: dsr.FormatRef(rp.Ref), ReceivedOn: dsr.DateIn(rp.ReceivedAt, s.org.Location())}
	w.Text = fmt.Sprintf("Same person, same kind within 12 months: %s (%s); %s", w.Ref, w.ReceivedOn.Human(), freeRequestsText(r))
	d.Repeat = w
	return nil
}

// freeRequestsText is the regime's free-request limit for r's kind in
// words.
func freeRequestsText(r *dsr.Request) string {
	reg, err := dsr.LookupRegime(r.Regime)
	if err != nil {
		return "the law is unknown"
	}
	lim := reg.FreeRequests
	if l, ok := reg.KindLimits[r.Kind]; ok {
		lim = &l
	}
	if lim == nil {
		return fmt.Sprintf("%s sets no free-request limit", reg.Short)
	}
	return fmt.Sprintf("this regime allows %d free request%s per %s (%s)", lim.Times, plural(lim.Times), lim.Per, lim.Rule)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

type apiFee struct {
	Amount      string    `json:"amount"`
	Currency    string    `json:"currency"`
	Reason      string    `json:"reason"`
	Clock       string    `json:"clock"`
	RequestedAt time.Time `json:"requested_at"`
}

type apiRepeatOf struct {
	ID         string   `json:"id"`
	Ref        string   `json:"ref"`
	ReceivedOn dsr.Date `json:"received_on"`
	Warning    string   `json:"warning"`
}

func apiFeesOf(d *requestDetail) (*apiFee, *apiRepeatOf) {
	var f *apiFee
	var rp *apiRepeatOf
	if d.Fee != nil {
		f = &apiFee{Amount: d.Fee.Amount, Currency: d.Fee.Currency, Reason: d.Fee.Reason, Clock: d.Fee.Clock, RequestedAt: d.Fee.RequestedAt}
	}
	if w := d.Repeat; w != nil {
		rp = &apiRepeatOf{ID: w.ID, Ref: w.Ref, ReceivedOn: w.ReceivedOn, Warning: w.Text}
	}
	return f, rp
}

// FeeReason is the awaited fee's reason in words for the console ("" when
// no fee is awaited).
func (d *requestDetail) FeeReason() string {
	if d.Fee == nil {
		return ""
	}
	return dsr.FeeReasonWords(d.Fee.Reason)
}
